// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_prog = "meridian";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static bool log_journal;

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERR] = "err",
};

/* syslog(3) priorities, as journald reads them from a "<N>" prefix. */
static const int level_priorities[] = {
	[LOG_LEVEL_DEBUG] = 7,
	[LOG_LEVEL_INFO] = 6,
	[LOG_LEVEL_WARN] = 4,
	[LOG_LEVEL_ERR] = 3,
};

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(const char *prog)
{
	const char *slash = prog ? strrchr(prog, '/') : NULL;

	if (prog)
		log_prog = slash ? slash + 1 : prog;
	log_journal = stderr_is_journal();
}

void log_set_level(enum log_level level)
{
	if (level > LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	log_threshold = level;
}

enum log_level log_get_level(void)
{
	return log_threshold;
}

bool log_enabled(enum log_level level)
{
	return level >= log_threshold;
}

int log_level_parse(const char *name, enum log_level *level)
{
	static const struct {
		const char *name;
		enum log_level level;
	} aliases[] = {
		{ "debug", LOG_LEVEL_DEBUG }, { "info", LOG_LEVEL_INFO },
		{ "warn", LOG_LEVEL_WARN },   { "warning", LOG_LEVEL_WARN },
		{ "err", LOG_LEVEL_ERR },     { "error", LOG_LEVEL_ERR },
	};
	size_t i;

	for (i = 0; name && i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (!strcasecmp(name, aliases[i].name)) {
			*level = aliases[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if (level > LOG_LEVEL_ERR)
		return "?";
	return level_names[level];
}

void log_set_journal(bool on)
{
	log_journal = on;
}

/*
 * Formats into buf, or into a heap buffer when the message is longer (a
 * verifier log passed on from libbpf can be megabytes). Returns the text,
 * which the caller frees when it is not buf; NULL if out of memory.
 */
static char *format_message(char *buf, size_t size, const char *fmt,
			    va_list ap)
{
	va_list again;
	char *text;
	int len;

	va_copy(again, ap);
	len = vsnprintf(buf, size, fmt, ap);
	if (len < 0 || (size_t)len < size) {
		va_end(again);
		return buf;
	}
	text = malloc((size_t)len + 1);
	if (text)
		vsnprintf(text, (size_t)len + 1, fmt, again);
	va_end(again);
	return text;
}

static void emit_line(enum log_level level, char *text)
{
	size_t len = strlen(text);

	/* Callers may or may not end with a newline; print exactly one. */
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	/* One fprintf per message, so concurrent writers do not interleave. */
	if (log_journal)
		fprintf(stderr, "<%d>%s: %s\n", level_priorities[level],
			log_prog, text);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level],
			text);
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char buf[1024];
	char *text;

	if (level > LOG_LEVEL_ERR)
		level = LOG_LEVEL_ERR;
	if (!log_enabled(level))
		return;
	text = format_message(buf, sizeof(buf), fmt, ap);
	emit_line(level, text ? text : buf);
	if (text && text != buf)
		free(text);
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
