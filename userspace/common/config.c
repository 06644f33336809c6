// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Configuration loading: reading the file (the only I/O), running libyaml,
 * and handing the document to the walker (config_yaml.c) and the
 * whole-model checks (config_validate.c). Errors go back to the caller in
 * struct config_error, which logs them: nothing is printed here.
 */
#define _GNU_SOURCE /* memmem */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config_internal.h"

/* The text being parsed, for positions and hints in syntax errors. */
struct source {
	const char *name;
	const char *text;
	size_t len;
};

/* Line (1-based) and byte column of a byte offset. */
static struct cfg_mark offset_mark(const struct source *src, size_t offset)
{
	struct cfg_mark at = { 1, 1 };
	size_t i;

	for (i = 0; i < offset && i < src->len; i++) {
		at.col++;
		if (src->text[i] == '\n') {
			at.line++;
			at.col = 1;
		}
	}
	return at;
}

/* Line number line (0-based) of the text, and its length. */
static const char *source_line(const struct source *src, size_t line,
			       size_t *len)
{
	const char *p = src->text, *end = src->text + src->len, *nl;

	while (line-- && p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*len = (size_t)((nl ? nl : end) - p);
	return p;
}

/* The usual causes of libyaml's terser messages. */
static const char *syntax_hint(const yaml_parser_t *p, const struct source *src)
{
	size_t len, i;
	const char *line = source_line(src, p->problem_mark.line, &len);

	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		if (line[i] == '\t')
			return " (a tab: YAML indents with spaces only)";
	if (p->context && strstr(p->context, "flow") &&
	    memmem(line, len, "::", 2))
		return " (quote addresses like \"::1\" inside [ ] and { })";
	return "";
}

static void syntax_error(const yaml_parser_t *p, const struct source *src,
			 struct config_error *err)
{
	struct cfg_mark at = { (int)p->problem_mark.line + 1,
			       (int)p->problem_mark.column + 1 };
	const char *problem = p->problem ? p->problem : "unknown problem";

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_fail(err, src->name, at, NULL, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		cfg_fail(err, src->name, offset_mark(src, p->problem_offset),
			 NULL, "%s at byte offset %zu: the file must be UTF-8",
			 problem, p->problem_offset);
		return;
	}
	if (p->context)
		cfg_fail(err, src->name, at, NULL,
			 "YAML syntax: %s %s (line %d)%s", problem, p->context,
			 (int)p->context_mark.line + 1, syntax_hint(p, src));
	else
		cfg_fail(err, src->name, at, NULL, "YAML syntax: %s%s", problem,
			 syntax_hint(p, src));
}

/* A configuration is one document; a second one is almost surely a slip. */
static int check_single_document(yaml_parser_t *parser,
				 const struct source *src,
				 struct config_error *err)
{
	yaml_document_t extra;
	yaml_node_t *root;
	int r = 0;

	if (!yaml_parser_load(parser, &extra)) {
		syntax_error(parser, src, err);
		return parser->error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	}
	root = yaml_document_get_root_node(&extra);
	if (root) {
		struct cfg_mark at = { (int)root->start_mark.line + 1,
				       (int)root->start_mark.column + 1 };

		r = cfg_fail(err, src->name, at, NULL,
			     "a second YAML document: the configuration is "
			     "one document");
	}
	yaml_document_delete(&extra);
	return r;
}

static int load_document(yaml_parser_t *parser, const struct source *src,
			 struct model *out, struct config_error *err)
{
	struct cfg_marks mk = { 0 };
	yaml_document_t doc;
	int r;

	if (!yaml_parser_load(parser, &doc)) {
		syntax_error(parser, src, err);
		return parser->error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	}
	r = check_single_document(parser, src, err);
	if (!r)
		r = cfg_walk_document(&doc, src->name, out, &mk, err);
	if (!r)
		r = cfg_validate_model(out, &mk, err);
	cfg_marks_free(&mk, out->n_classes);
	yaml_document_delete(&doc);
	return r;
}

static int load_buffer(const char *text, size_t len, const char *name,
		       struct model *out, struct config_error *err)
{
	const struct source src = { .name = name, .text = text, .len = len };
	yaml_parser_t parser;
	int r;

	if (!yaml_parser_initialize(&parser)) {
		cfg_fail(err, name, (struct cfg_mark){ 0, 0 }, NULL,
			 "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	r = load_document(&parser, &src, out, err);
	yaml_parser_delete(&parser);
	if (r) {
		model_free(out);
		return r;
	}
	cfg_format(out->path, sizeof(out->path), "%s", name);
	return 0;
}

static void clear(struct model *out, struct config_error *err)
{
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
}

int config_load_string(const char *text, const char *name, struct model *out,
		       struct config_error *err)
{
	clear(out, err);
	if (!name)
		name = "<string>";
	return load_buffer(text, strlen(text), name, out, err);
}

static int io_fail(struct config_error *err, const char *path, int r,
		   const char *what)
{
	cfg_format(err->file, sizeof(err->file), "%s", path);
	cfg_format(err->msg, sizeof(err->msg), "%s: %s", what, strerror(-r));
	return r;
}

/* The whole file, NUL-terminated; *len excludes the NUL. */
static int read_all(int fd, char **text, size_t *len)
{
	size_t cap = 1 << 16, used = 0;
	char *buf = malloc(cap + 1), *grown;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (used == cap) {
			if (cap >= CONFIG_MAX_FILE_SIZE)
				goto too_big;
			cap *= 2;
			grown = realloc(buf, cap + 1);
			if (!grown)
				goto no_mem;
			buf = grown;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*text = buf;
	*len = used;
	return 0;
too_big:
	free(buf);
	return -EFBIG;
no_mem:
	free(buf);
	return -ENOMEM;
fail:
	n = -errno;
	free(buf);
	return (int)n;
}

/* YAML text holds no NUL; one means a binary or truncated-write file. */
static int check_no_nul(const char *text, size_t len, const char *path,
			struct config_error *err)
{
	const char *nul = memchr(text, '\0', len);
	struct cfg_mark at = { 1, 1 };
	const char *p;

	if (!nul)
		return 0;
	for (p = text; p < nul; p++) {
		at.col++;
		if (*p == '\n') {
			at.line++;
			at.col = 1;
		}
	}
	return cfg_fail(err, path, at, NULL,
			"NUL byte at offset %zu: not a text file",
			(size_t)(nul - text));
}

int config_load_file(const char *path, struct model *out,
		     struct config_error *err)
{
	size_t len = 0;
	char *text = NULL;
	int fd, r;

	clear(out, err);
	if (strlen(path) >= sizeof(out->path))
		return io_fail(err, path, -ENAMETOOLONG, "configuration path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_fail(err, path, -errno, "cannot open");
	r = read_all(fd, &text, &len);
	close(fd);
	if (r == -EFBIG) {
		cfg_format(err->file, sizeof(err->file), "%s", path);
		cfg_format(err->msg, sizeof(err->msg),
			   "larger than %u MiB: not a configuration",
			   CONFIG_MAX_FILE_SIZE >> 20);
		return r;
	}
	if (r)
		return io_fail(err, path, r, "cannot read");
	r = check_no_nul(text, len, path, err);
	if (!r)
		r = load_buffer(text, len, path, out, err);
	free(text);
	return r;
}

/* Appends to buf at *used, never past len - 1. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - 1 - *used;
}

void config_error_format(const struct config_error *err, char *buf, size_t len)
{
	const char *file = err->file[0] ? err->file : "<config>";
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	append(buf, len, &used, "%s:", file);
	if (err->line > 0)
		append(buf, len, &used, "%d:", err->line);
	if (err->line > 0 && err->column > 0)
		append(buf, len, &used, "%d:", err->column);
	if (err->field[0])
		append(buf, len, &used, " %s:", err->field);
	append(buf, len, &used, " %s", err->msg[0] ? err->msg : "error");
}
