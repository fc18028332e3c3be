// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_config_file.c: config_json_load, what --config-file does with a
 * tenant's file: the whole input is the document.
 *
 * Invariants beyond the sanitizers: a refused document gets a message that
 * names the file; an accepted one renders (GET /vm/config) to a document
 * that loads again and renders the same (the round trip the unit tests make
 * for one file, here for every file the fuzzer finds).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_json.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg, again;
	char err[CONFIG_JSON_ERR_MAX];
	char *once, *twice;

	config_defaults(&cfg);
	err[0] = '\0';
	if (config_json_load(&cfg, "vm.json", (const char *)data, size, err, sizeof(err)) < 0) {
		FZ_CHECK(strncmp(err, "vm.json: ", 9) == 0, "refused with message '%s'", err);
		config_free(&cfg);
		return 0;
	}
	once = config_json_vm_config(&cfg);
	FZ_CHECK(once != NULL, "config_json_vm_config");
	config_defaults(&again);
	FZ_CHECK(config_json_load(&again, "again.json", once, strlen(once), err, sizeof(err)) == 0,
		 "GET /vm/config of an accepted file does not load: %s\n%s", err, once);
	twice = config_json_vm_config(&again);
	FZ_CHECK(twice != NULL && strcmp(once, twice) == 0, "round trip differs:\n%s\n%s", once,
		 twice ? twice : "(null)");
	free(once);
	free(twice);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
