// SPDX-License-Identifier: Apache-2.0
/*
 * ember_shim.c: exec'd by ember-jailer in its integration test while ember
 * does not accept --id/--start-time-us/--start-time-cpu-us yet: drops those
 * three (and their values) and execs /ember (hard-linked into the jail)
 * with the rest, so a jailed boot can be tested today.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *args[256];
	int n = 0;

	args[n++] = "/ember";
	for (int i = 1; i < argc && n < 255; i++) {
		if (!strcmp(argv[i], "--id") || !strcmp(argv[i], "--start-time-us") ||
		    !strcmp(argv[i], "--start-time-cpu-us")) {
			i++;
			continue;
		}
		args[n++] = argv[i];
	}
	args[n] = NULL;
	execv("/ember", args);
	perror("ember_shim: execv /ember");
	return 127;
}
