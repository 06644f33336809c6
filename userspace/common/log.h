/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Leveled logging to stderr, one line per message:
 *   "PROG: LEVEL: message"
 * Under journald (JOURNAL_STREAM names our stderr) each line starts with a
 * "<N>" syslog priority instead, so the journal keeps the level.
 */
#ifndef MERIDIAN_LOG_H
#define MERIDIAN_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERR,
};

/* Sets the prefix (basename taken) and detects journald. Level: info. */
void log_init(const char *prog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);
/* "debug", "info", "warn"/"warning", "err"/"error"; -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
/* Forces journald "<N>" prefixes on or off. */
void log_set_journal(bool on);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)

#endif /* MERIDIAN_LOG_H */
