/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvh_note.S: the Xen ELF note that makes the image bootable through PVH.
 *
 * Type XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen", desc = the 32-bit physical
 * address of pvh_start32 (xen/include/public/elfnote.h). guest.ld gives it a
 * PT_NOTE program header. Guests linked without this object (probe-nopvh.elf)
 * have no note, so a loader falls back to the ELF e_entry (64-bit).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long pvh_start32
4:	.balign 4

	.section .note.GNU-stack, "", @progbits
