/*
 * kernel/vsnprintf.c - printf-style formatting for printk.
 *
 * Supports %d %i %u %x %X %p %s %c %% with flags '-', '0', '#', a width, and the
 * length modifiers l, ll, z. Output is always NUL-terminated; the return
 * value is the length that would have been written (C99 semantics).
 */
#include <stdarg.h>
#include "kernel/printk.h"

struct fmtbuf {
	char *p;
	size_t left;
	size_t len;
};

static void fmt_putc(struct fmtbuf *b, char c)
{
	if (b->left > 1) {
		*b->p++ = c;
		b->left--;
	}
	b->len++;
}

/* fmt_num: print v in base with width/pad; neg adds a sign. */
static void fmt_num(struct fmtbuf *b, uint64_t v, unsigned base, bool neg,
		    int width, char pad, bool left, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	if (!left)
		for (int i = n; i < width; i++)
			fmt_putc(b, pad);
	while (n)
		fmt_putc(b, tmp[--n]);
	if (left)
		for (int i = n; i < width; i++)
			fmt_putc(b, ' ');
}

static void fmt_str(struct fmtbuf *b, const char *s, int width, bool left)
{
	int n = (int)strlen(s);

	if (!left)
		for (int i = n; i < width; i++)
			fmt_putc(b, ' ');
	while (*s)
		fmt_putc(b, *s++);
	if (left)
		for (int i = n; i < width; i++)
			fmt_putc(b, ' ');
}

/* fmt_arg: fetch an integer argument of the given length class. */
static uint64_t fmt_arg(va_list *ap, int lng, bool sgn, bool *neg)
{
	int64_t s;

	*neg = false;
	if (!sgn)
		return lng >= 1 ? va_arg(*ap, uint64_t) : va_arg(*ap, unsigned);
	s = lng >= 1 ? va_arg(*ap, int64_t) : va_arg(*ap, int);
	if (s < 0) {
		*neg = true;
		return (uint64_t)(-(s + 1)) + 1;
	}
	return (uint64_t)s;
}

struct fmtspec {
	bool left, alt;
	char pad;
	int width, lng;
};

/* fmt_spec: parse flags, width and length after '%'; returns the
 * conversion character's position. */
static const char *fmt_spec(const char *fmt, struct fmtspec *sp)
{
	*sp = (struct fmtspec){ .pad = ' ' };
	for (; *fmt == '-' || *fmt == '0' || *fmt == '#'; fmt++)
		*fmt == '-' ? (sp->left = true) : *fmt == '#' ? (sp->alt = true) : (sp->pad = '0');
	for (; *fmt >= '0' && *fmt <= '9'; fmt++)
		sp->width = sp->width * 10 + (*fmt - '0');
	for (; *fmt == 'l' || *fmt == 'z'; fmt++)
		sp->lng++;
	return fmt;
}

/* fmt_conv: format one conversion c; false if c is not one we know. */
static bool fmt_conv(struct fmtbuf *b, char c, const struct fmtspec *sp, va_list *ap)
{
	bool neg;
	uint64_t v;

	switch (c) {
	case 'd': case 'i':
		v = fmt_arg(ap, sp->lng, true, &neg);
		fmt_num(b, v, 10, neg, sp->width, sp->pad, sp->left, false);
		return true;
	case 'u': case 'x': case 'X':
		v = fmt_arg(ap, sp->lng, false, &neg);
		if (sp->alt && c != 'u')
			fmt_str(b, "0x", 0, false);
		fmt_num(b, v, c == 'u' ? 10 : 16, false, sp->width, sp->pad, sp->left, c == 'X');
		return true;
	case 'p':
		fmt_str(b, "0x", 0, false);
		fmt_num(b, (uint64_t)va_arg(*ap, void *), 16, false, 16, '0', false, false);
		return true;
	case 's': {
		const char *s = va_arg(*ap, const char *);

		fmt_str(b, s ? s : "(null)", sp->width, sp->left);
		return true;
	}
	case 'c':
		fmt_putc(b, (char)va_arg(*ap, int));
		return true;
	case '%':
		fmt_putc(b, '%');
		return true;
	}
	return false;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmtbuf b = { buf, size, 0 };
	struct fmtspec sp;
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			fmt_putc(&b, *fmt);
			continue;
		}
		fmt = fmt_spec(fmt + 1, &sp);
		if (fmt_conv(&b, *fmt, &sp, &aq))
			continue;
		fmt_putc(&b, '%');	/* unknown: print it as it was */
		if (!*fmt)
			break;
		fmt_putc(&b, *fmt);
	}
	va_end(aq);
	if (size)
		*b.p = 0;
	return (int)b.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
