/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exit_status.h: what ember's exit status means.
 *
 * 0..255 normally carry the guest's own status (exit port, or 0 for a reset).
 * When ember itself ends the run, it uses one of the codes below and prints
 * one line on stderr saying why. Guests that want to be told apart from these
 * should avoid exiting with 120..125 themselves.
 */
#ifndef EMBER_EXIT_STATUS_H
#define EMBER_EXIT_STATUS_H

#define EMBER_EXIT_OK		  0   /* guest reset, or exit port 0 */
#define EMBER_EXIT_HOST_ERROR	  120 /* /dev/kvm or a KVM ioctl failed */
#define EMBER_EXIT_TRIPLE_FAULT	  121 /* KVM_EXIT_SHUTDOWN: guest triple fault */
#define EMBER_EXIT_INTERNAL_ERROR 122 /* KVM_EXIT_INTERNAL_ERROR (e.g. emulation) */
#define EMBER_EXIT_UNHANDLED_EXIT 123 /* exit reason ember does not handle, entry failure */
#define EMBER_EXIT_CONFIG	  125 /* bad flag, unreadable or invalid kernel/initrd */

#endif /* EMBER_EXIT_STATUS_H */
