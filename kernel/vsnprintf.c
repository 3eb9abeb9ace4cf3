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

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmtbuf b = { buf, size, 0 };
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		bool left = false, alt = false, neg;
		char pad = ' ';
		int width = 0, lng = 0;

		if (*fmt != '%') {
			fmt_putc(&b, *fmt);
			continue;
		}
		fmt++;
		for (; *fmt == '-' || *fmt == '0' || *fmt == '#'; fmt++)
			*fmt == '-' ? (left = true) : *fmt == '#' ? (alt = true) : (pad = '0');
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng++;
		switch (*fmt) {
		case 'd': case 'i': {
			uint64_t v = fmt_arg(&aq, lng, true, &neg);
			fmt_num(&b, v, 10, neg, width, pad, left, false);
			break;
		}
		case 'u': case 'x': case 'X': {
			uint64_t v = fmt_arg(&aq, lng, false, &neg);
			if (alt && *fmt != 'u')
				fmt_str(&b, "0x", 0, false);
			fmt_num(&b, v, *fmt == 'u' ? 10 : 16, false, width, pad, left, *fmt == 'X');
			break;
		}
		case 'p':
			fmt_str(&b, "0x", 0, false);
			fmt_num(&b, (uint64_t)va_arg(aq, void *), 16, false, 16, '0', false, false);
			break;
		case 's': {
			const char *s = va_arg(aq, const char *);
			fmt_str(&b, s ? s : "(null)", width, left);
			break;
		}
		case 'c':
			fmt_putc(&b, (char)va_arg(aq, int));
			break;
		case '%':
			fmt_putc(&b, '%');
			break;
		default:
			fmt_putc(&b, '%');
			if (*fmt)
				fmt_putc(&b, *fmt);
			else
				fmt--;
		}
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
