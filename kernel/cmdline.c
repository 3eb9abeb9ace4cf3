/* kernel/cmdline.c - key=value lookup in the kernel command line. */
#include "kernel/bootinfo.h"

/* cmdline_find: pointer to the value of key in the command line, or NULL. */
static const char *cmdline_find(const char *key)
{
	size_t kl = strlen(key);
	const char *p = bootinfo.cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, kl) && p[kl] == '=')
			return p + kl + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

bool cmdline_str(const char *key, char *buf, size_t n)
{
	const char *v = cmdline_find(key);
	size_t i = 0;

	if (!v || !n)
		return false;
	while (v[i] && v[i] != ' ' && i + 1 < n) {
		buf[i] = v[i];
		i++;
	}
	buf[i] = 0;
	return true;
}

long cmdline_int(const char *key, long def)
{
	const char *v = cmdline_find(key);
	long x = 0;

	if (!v || *v < '0' || *v > '9')
		return def;
	while (*v >= '0' && *v <= '9')
		x = x * 10 + (*v++ - '0');
	return x;
}
