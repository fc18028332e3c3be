/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exit_port.h: a one-byte OUT of status S to LAYOUT_EXIT_PORT ends the VM,
 * and ember exits with S. This is how `ember ... -- cmd` hands back the exit
 * code of the command the guest ran.
 */
#ifndef EMBER_EXIT_PORT_H
#define EMBER_EXIT_PORT_H

struct vm;

/* exit_port_init: claim the port on (vm)'s bus. 0 or -errno. */
int exit_port_init(struct vm *vm);

#endif /* EMBER_EXIT_PORT_H */
