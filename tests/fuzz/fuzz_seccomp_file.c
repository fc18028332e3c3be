// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_seccomp_file.c: seccomp_parse_filters, what --seccomp-filter does
 * with a file a user (or an orchestrator's tooling) compiled.
 *
 * Invariants beyond the sanitizers: a refused file leaves nothing allocated
 * and says why; an accepted one has every category, each program within
 * the kernel's limit, with instructions exactly when its length is not 0,
 * and parses again to the same programs.
 */
#include <errno.h>
#include <string.h>

#include "fuzz_util.h"
#include "seccomp_file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seccomp_user_filters f, again;
	char err[SECCOMP_ERR_MAX] = "";

	int ret = seccomp_parse_filters(data, size, &f, err, sizeof(err));
	if (ret < 0) {
		FZ_CHECK(ret == -EINVAL && err[0] != '\0', "refused (%d) without a reason", ret);
		for (int i = 0; i < SECCOMP_CATEGORIES; i++)
			FZ_CHECK(f.prog[i].insns == NULL && f.prog[i].len == 0,
				 "a refused file kept a program");
		return 0;
	}
	FZ_CHECK(seccomp_parse_filters(data, size, &again, err, sizeof(err)) == 0,
		 "accepted once, refused the second time: %s", err);
	for (int i = 0; i < SECCOMP_CATEGORIES; i++) {
		const struct seccomp_prog *p = &f.prog[i];
		FZ_CHECK(p->len <= BPF_MAXINSNS, "%s: %u instructions", seccomp_category_name(i),
			 p->len);
		FZ_CHECK((p->len == 0) == (p->insns == NULL), "%s: length and program disagree",
			 seccomp_category_name(i));
		FZ_CHECK(p->len == again.prog[i].len &&
			     (p->len == 0 || memcmp(p->insns, again.prog[i].insns,
						    p->len * sizeof(*p->insns)) == 0),
			 "%s: a second parse differs", seccomp_category_name(i));
	}
	seccomp_free_filters(&f);
	seccomp_free_filters(&again);
	return 0;
}
