/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_config_json.h: Firecracker's custom CPU template JSON (x86_64), as
 * PUT /cpu-config and the config file's "cpu-config" give it, <-> struct
 * cpu_template:
 *
 *   {"cpuid_modifiers": [{"leaf": "0x7", "subleaf": "0x0", "flags": 1,
 *                         "modifiers": [{"register": "ebx",
 *                                        "bitmap": "0bxxxx...0xx"}]}],
 *    "msr_modifiers": [{"addr": "0x10a", "bitmap": "0b...(64)"}],
 *    "kvm_capabilities": ["171", "!172"]}
 *
 * Numbers (leaf, subleaf, addr) are strings with a 0x or 0b prefix, as
 * Firecracker has them; ember also takes a plain JSON integer. Strict like
 * the rest of the API: unknown fields, wrong types and malformed values are
 * errors naming the field ("cpuid_modifiers[2].modifiers[0].bitmap").
 */
#ifndef EMBER_CPU_CONFIG_JSON_H
#define EMBER_CPU_CONFIG_JSON_H

#include <jansson.h>

#include "cpu_template.h"

/* Where a template document is wrong: the JSON path from its top, and why. */
struct cpu_config_error {
	char field[128];
	char msg[CPU_TEMPLATE_ERR_MAX + 96];
};

/*
 * cpu_config_json_parse: the template document (obj) into (t), which is
 * zeroed first (vendor: any). 0, or -EINVAL with (e) filled.
 */
int cpu_config_json_parse(json_t *obj, struct cpu_template *t, struct cpu_config_error *e);

/*
 * cpu_config_json_render: (t) in the document's shape, numbers as "0x..."
 * strings and bitmaps at full width. A new reference, or NULL when out of
 * memory.
 */
json_t *cpu_config_json_render(const struct cpu_template *t);

#endif /* EMBER_CPU_CONFIG_JSON_H */
