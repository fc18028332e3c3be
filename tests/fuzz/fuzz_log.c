// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_log.c: fz_quiet_logs for the harnesses of monitor code (the virtio
 * harnesses silence the library's own log: fzv_quiet_logs). Apart from
 * fuzz_util.c so that those need nothing of monitor/.
 */
#include <stdlib.h>

#include "fuzz_util.h"
#include "log.h"

static void drop_line(void *opaque, enum log_level level, const char *line)
{
	(void)opaque;
	(void)level;
	(void)line;
}

void fz_quiet_logs(void)
{
	log_set_level(LOG_DEBUG);
	if (getenv("FUZZ_LOG") == NULL)
		log_set_sink(drop_line, NULL);
}
