// SPDX-License-Identifier: Apache-2.0
/* cpu_config_json.c: Firecracker's custom CPU template JSON <-> struct cpu_template. */
#include "cpu_config_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_util.h"

#define REG_BITS 32
#define MSR_BITS 64
/* "0b" and 64 bit characters, with the NUL. */
#define BITMAP_TEXT_MAX (MSR_BITS + 3)
/* "0x" and 8 hex digits, with the NUL. */
#define HEX32_TEXT_MAX 11
/* "!" and a decimal u32, with the NUL. */
#define CAP_TEXT_MAX 12

/* Room for the deepest path ("cpuid_modifiers[255].modifiers[3]") and a key's first bytes. */
#define PATH_MAX_LEN 64
#define KEY_SHOWN    "60"

/* One parse: the path of the value being read, and where the error goes. */
struct walk {
	char path[PATH_MAX_LEN];
	struct cpu_config_error *e;
};

__attribute__((format(printf, 3, 4))) static int bad(struct walk *w, const char *key,
						     const char *fmt, ...)
{
	va_list ap;

	if (key != NULL && w->path[0] != '\0')
		snprintf(w->e->field, sizeof(w->e->field), "%s.%." KEY_SHOWN "s", w->path, key);
	else if (key != NULL)
		snprintf(w->e->field, sizeof(w->e->field), "%." KEY_SHOWN "s", key);
	else
		snprintf(w->e->field, sizeof(w->e->field), "%s", w->path);
	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start above
	vsnprintf(w->e->msg, sizeof(w->e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* push/pop: descend into (key)[idx] of the path, and back. */
static size_t push(struct walk *w, const char *key, size_t idx)
{
	return json_path_push(w->path, sizeof(w->path), key, (long)idx);
}

static void pop(struct walk *w, size_t len)
{
	json_path_pop(w->path, len);
}

/* keys: every key of (o) is one of (allowed), NULL-terminated. */
static int keys(struct walk *w, json_t *o, const char *const *allowed)
{
	char list[128];
	const char *key = json_unknown_key(o, allowed, list, sizeof(list));

	return key == NULL ? 0 : bad(w, key, "unknown field (expected one of: %s)", list);
}

/* required: (key) of (o), present and not null. */
static int required(struct walk *w, json_t *o, const char *key, json_t **out)
{
	*out = json_object_get(o, key);
	if (*out == NULL || json_is_null(*out))
		return bad(w, key, "missing required field");
	return 0;
}

static int string(struct walk *w, json_t *o, const char *key, const char **out)
{
	json_t *v;
	int ret = required(w, o, key, &v);

	if (ret != 0)
		return ret;
	if (!json_is_string(v))
		return bad(w, key, "expected a string, got %s", json_kind(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(w, key, "a string with a NUL byte");
	*out = json_string_value(v);
	return 0;
}

/* number: a "0x"/"0b" string (Firecracker's form) or a JSON integer, at most (max). */
static int number(struct walk *w, json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	char why[CPU_TEMPLATE_ERR_MAX];
	json_t *v;
	int ret = required(w, o, key, &v);

	if (ret != 0)
		return ret;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0 || (uint64_t)i > max)
			return bad(w, key, "%lld is out of range (0 to %llu)", (long long)i,
				   (unsigned long long)max);
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return bad(w, key, "expected a \"0x...\" string, got %s", json_kind(v));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(w, key, "a string with a NUL byte");
	if (cpu_template_parse_number(json_string_value(v), max, out, why, sizeof(why)) < 0)
		return bad(w, key, "%s", why);
	return 0;
}

static int bitmap(struct walk *w, json_t *o, unsigned int bits, uint64_t *mask, uint64_t *value)
{
	char why[CPU_TEMPLATE_ERR_MAX];
	const char *s = NULL;
	int ret = string(w, o, "bitmap", &s);

	if (ret == 0 && cpu_template_parse_bitmap(s, bits, mask, value, why, sizeof(why)) < 0)
		ret = bad(w, "bitmap", "%s", why);
	return ret;
}

/* array: (key) of (o), absent or null (no entries) or an array. */
static int array(struct walk *w, json_t *o, const char *key, bool need, json_t **out)
{
	*out = json_object_get(o, key);
	if (*out == NULL || json_is_null(*out)) {
		*out = NULL;
		return need ? bad(w, key, "missing required field") : 0;
	}
	if (!json_is_array(*out))
		return bad(w, key, "expected an array, got %s", json_kind(*out));
	return 0;
}

/* One of a leaf's "modifiers": {"register", "bitmap"}. */
static int reg_modifier(struct walk *w, json_t *o, struct cpu_template *t, uint32_t leaf,
			uint32_t subleaf, uint32_t flags)
{
	static const char *const allowed[] = {"register", "bitmap", NULL};
	const char *name = NULL;
	enum cpu_reg reg = CPU_REG_EAX;
	uint64_t mask = 0, value = 0;
	int ret = json_is_object(o) ? keys(w, o, allowed)
				    : bad(w, NULL, "expected an object, got %s", json_kind(o));

	if (ret == 0)
		ret = string(w, o, "register", &name);
	if (ret == 0 && cpu_template_parse_reg(name, &reg) < 0)
		ret = bad(w, "register", "'%.40s' is not one of eax, ebx, ecx, edx", name);
	if (ret == 0)
		ret = bitmap(w, o, REG_BITS, &mask, &value);
	if (ret == 0 && cpu_template_add_leaf_reg(t, leaf, subleaf, flags, reg, (uint32_t)mask,
						  (uint32_t)value) < 0)
		ret = bad(w, NULL, "more than %d distinct CPUID leaves", CPU_TEMPLATE_MAX_LEAVES);
	return ret;
}

/* One of "cpuid_modifiers": {"leaf", "subleaf", "flags", "modifiers"}. */
static int leaf_modifier(struct walk *w, json_t *o, struct cpu_template *t)
{
	static const char *const allowed[] = {"leaf", "subleaf", "flags", "modifiers", NULL};
	uint64_t leaf = 0, subleaf = 0, flags = 0;
	json_t *mods = NULL, *m;
	size_t i;
	int ret = json_is_object(o) ? keys(w, o, allowed)
				    : bad(w, NULL, "expected an object, got %s", json_kind(o));

	if (ret == 0)
		ret = number(w, o, "leaf", UINT32_MAX, &leaf);
	if (ret == 0)
		ret = number(w, o, "subleaf", UINT32_MAX, &subleaf);
	if (ret == 0) {
		json_t *f;
		ret = required(w, o, "flags", &f);
		if (ret == 0 && !json_is_integer(f))
			ret = bad(w, "flags", "expected an integer, got %s", json_kind(f));
		if (ret == 0 && (json_integer_value(f) < 0 ||
				 (json_integer_value(f) & ~(json_int_t)CPU_TEMPLATE_FLAGS_VALID)))
			ret =
			    bad(w, "flags", "%lld: only KVM_CPUID_FLAG_* bits (0 to %u) may be set",
				(long long)json_integer_value(f), CPU_TEMPLATE_FLAGS_VALID);
		if (ret == 0)
			flags = (uint64_t)json_integer_value(f);
	}
	if (ret == 0)
		ret = array(w, o, "modifiers", true, &mods);
	/* A leaf with no register modifier still sets the entry's flags. */
	if (ret == 0 && json_array_size(mods) == 0 &&
	    cpu_template_add_leaf_reg(t, (uint32_t)leaf, (uint32_t)subleaf, (uint32_t)flags,
				      CPU_REG_EAX, 0, 0) < 0)
		ret = bad(w, NULL, "more than %d distinct CPUID leaves", CPU_TEMPLATE_MAX_LEAVES);
	json_array_foreach(mods, i, m)
	{
		if (ret != 0)
			break;
		size_t at = push(w, "modifiers", i);
		ret = reg_modifier(w, m, t, (uint32_t)leaf, (uint32_t)subleaf, (uint32_t)flags);
		pop(w, at);
	}
	return ret;
}

/* One of "msr_modifiers": {"addr", "bitmap"}. */
static int msr_modifier(struct walk *w, json_t *o, struct cpu_template *t)
{
	static const char *const allowed[] = {"addr", "bitmap", NULL};
	uint64_t addr = 0, mask = 0, value = 0;
	int ret = json_is_object(o) ? keys(w, o, allowed)
				    : bad(w, NULL, "expected an object, got %s", json_kind(o));

	if (ret == 0)
		ret = number(w, o, "addr", UINT32_MAX, &addr);
	if (ret == 0)
		ret = bitmap(w, o, MSR_BITS, &mask, &value);
	if (ret == 0 && cpu_template_add_msr(t, (uint32_t)addr, mask, value) < 0)
		ret = bad(w, NULL, "more than %d distinct MSRs", CPU_TEMPLATE_MAX_MSRS);
	return ret;
}

/* One of "kvm_capabilities": "N" (the host must have it) or "!N", N decimal. */
static int capability(struct walk *w, json_t *v, struct cpu_template *t)
{
	const char *s, *p;
	uint64_t n = 0;

	if (!json_is_string(v))
		return bad(w, NULL, "expected a string such as \"171\" or \"!171\", got %s",
			   json_kind(v));
	s = json_string_value(v);
	p = s[0] == '!' ? s + 1 : s;
	if (*p == '\0' || strlen(s) != json_string_length(v))
		return bad(w, NULL, "'%.40s' is not a capability number (\"N\" or \"!N\")", s);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (UINT32_MAX - (uint64_t)(*p - '0')) / 10)
			return bad(w, NULL, "'%.40s' is not a capability number from 0 to %u", s,
				   UINT32_MAX);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (t->ncaps >= CPU_TEMPLATE_MAX_CAPS)
		return bad(w, NULL, "more than %d capabilities", CPU_TEMPLATE_MAX_CAPS);
	t->caps[t->ncaps++] = (struct cpu_cap){.cap = (uint32_t)n, .remove = s[0] == '!'};
	return 0;
}

typedef int (*item_fn)(struct walk *w, json_t *v, struct cpu_template *t);

static int items(struct walk *w, json_t *root, const char *key, item_fn fn, struct cpu_template *t)
{
	json_t *a = NULL, *v;
	size_t i;
	int ret = array(w, root, key, false, &a);

	json_array_foreach(a, i, v)
	{
		if (ret != 0)
			break;
		size_t at = push(w, key, i);
		ret = fn(w, v, t);
		pop(w, at);
	}
	return ret;
}

int cpu_config_json_parse(json_t *obj, struct cpu_template *t, struct cpu_config_error *e)
{
	static const char *const allowed[] = {"cpuid_modifiers", "msr_modifiers",
					      "kvm_capabilities", NULL};
	struct walk w = {.e = e};
	int ret;

	memset(t, 0, sizeof(*t));
	memset(e, 0, sizeof(*e));
	if (!json_is_object(obj))
		return bad(&w, NULL, "expected an object, got %s", json_kind(obj));
	/* aarch64's parts of the format: say so rather than "unknown". */
	if (json_object_get(obj, "reg_modifiers") != NULL)
		return bad(&w, "reg_modifiers", "is for aarch64 hosts; ember runs on x86_64");
	if (json_object_get(obj, "vcpu_features") != NULL)
		return bad(&w, "vcpu_features", "is for aarch64 hosts; ember runs on x86_64");
	ret = keys(&w, obj, allowed);
	if (ret == 0)
		ret = items(&w, obj, "cpuid_modifiers", leaf_modifier, t);
	if (ret == 0)
		ret = items(&w, obj, "msr_modifiers", msr_modifier, t);
	if (ret == 0)
		ret = items(&w, obj, "kvm_capabilities", capability, t);
	return ret;
}

/* ------------------------------------------------------------ rendering */

static json_t *hex(uint32_t v)
{
	char s[HEX32_TEXT_MAX];

	snprintf(s, sizeof(s), "0x%x", v);
	return json_string(s);
}

static json_t *leaf_obj(const struct cpu_leaf_mod *m)
{
	json_t *mods = json_array();
	char bits[BITMAP_TEXT_MAX];

	for (int r = 0; mods != NULL && r < CPU_TEMPLATE_REGS; r++) {
		if (m->mask[r] == 0)
			continue;
		cpu_template_format_bitmap(m->mask[r], m->value[r], REG_BITS, bits);
		json_array_append_new(mods, json_pack("{s:s,s:s}", "register",
						      cpu_template_reg_name((enum cpu_reg)r),
						      "bitmap", bits));
	}
	return json_pack("{s:o,s:o,s:I,s:o}", "leaf", hex(m->leaf), "subleaf", hex(m->subleaf),
			 "flags", (json_int_t)m->flags, "modifiers", mods);
}

json_t *cpu_config_json_render(const struct cpu_template *t)
{
	json_t *leaves = json_array(), *msrs = json_array(), *caps = json_array();
	char bits[BITMAP_TEXT_MAX], cap[CAP_TEXT_MAX];

	for (unsigned int i = 0; leaves != NULL && i < t->nleaves; i++)
		json_array_append_new(leaves, leaf_obj(&t->leaves[i]));
	for (unsigned int i = 0; msrs != NULL && i < t->nmsrs; i++) {
		cpu_template_format_bitmap(t->msrs[i].mask, t->msrs[i].value, MSR_BITS, bits);
		json_array_append_new(
		    msrs, json_pack("{s:o,s:s}", "addr", hex(t->msrs[i].addr), "bitmap", bits));
	}
	for (unsigned int i = 0; caps != NULL && i < t->ncaps; i++) {
		snprintf(cap, sizeof(cap), "%s%u", t->caps[i].remove ? "!" : "", t->caps[i].cap);
		json_array_append_new(caps, json_string(cap));
	}
	return json_pack("{s:o,s:o,s:o}", "cpuid_modifiers", leaves, "msr_modifiers", msrs,
			 "kvm_capabilities", caps);
}
