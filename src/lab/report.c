// SPDX-License-Identifier: GPL-2.0
/*
 * report.c - the lab's table, JSON and SVG.
 *
 * A row is one strategy over its runs (seeds N, N+1, ...).  A verdict of
 * "none" is printed only with the number of folios the migrator really
 * moved; a run that moved none says so ("vacuous"), because it proves
 * nothing.  A run the watchdog ended (a deadlock) says so.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "lab.h"

const char *lab_main_fail_reason(const struct migrate_stats *m, uint64_t *count)
{
	int best = -1;

	for (int i = 0; i < MF_NR; i++)
		if (m->fail[i] && (best < 0 || m->fail[i] > m->fail[best]))
			best = i;
	*count = best < 0 ? 0 : m->fail[best];
	return best < 0 ? "-" : migrate_fail_name(best);
}

static uint64_t mig_failed(const struct migrate_stats *m)
{
	uint64_t n = 0;

	for (int i = 0; i < MF_NR; i++)
		n += m->fail[i];
	return n;
}

void lab_print_table_header(FILE *f)
{
	fprintf(f, "%-16s %-34s %5s %5s %3s %5s %3s %8s %20s %-24s %8s  %s\n",
		"strategy", "kernel analogue", "I1", "I2", "I3", "I4", "I5", "first(s)",
		"migrated ok/failed", "main failure", "ops/s", "verdict");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void lab_print_table_row(FILE *f, const struct lab_result *r, unsigned int nruns)
{
	uint64_t det[LAB_NCLASS] = { 0 }, ok = 0, failed = 0, ferr = 0, count;
	struct migrate_stats all = { 0 };
	double ops = 0, firsts[256], first = -1;
	unsigned int nf = 0, runs_with = 0, bad_fsck = 0, deadlocked = 0;
	char cols[LAB_NCLASS][16], verdict[160], first_s[16], mig[32];
	bool any = false;

	for (unsigned int i = 0; i < nruns; i++) {
		double rf = -1;

		for (int c = 0; c < LAB_NCLASS; c++) {
			det[c] += r[i].detections[c];
			if (r[i].first_s[c] >= 0 && (rf < 0 || r[i].first_s[c] < rf))
				rf = r[i].first_s[c];
		}
		if (rf >= 0 && nf < ARRAY_SIZE(firsts)) {
			firsts[nf++] = rf;
			runs_with++;
		}
		ok += r[i].mig.ok;
		failed += mig_failed(&r[i].mig);
		for (int k = 0; k < MF_NR; k++)
			all.fail[k] += r[i].mig.fail[k];
		ops += r[i].ops_per_s;
		ferr += r[i].fs_errors;
		deadlocked += r[i].deadlocked;
		bad_fsck += !r[i].deadlocked && r[i].fsck[0] && strcmp(r[i].fsck, "clean");
	}
	if (nf) {
		qsort(firsts, nf, sizeof(firsts[0]), cmp_double);
		first = firsts[nf / 2];
	}
	for (int c = 0; c < LAB_NCLASS; c++) {
		snprintf(cols[c], sizeof(cols[c]), "%" PRIu64, det[c]);
		any |= det[c] > 0;
	}
	if (first >= 0)
		snprintf(first_s, sizeof(first_s), "%.2f", first);
	else
		snprintf(first_s, sizeof(first_s), "-");
	snprintf(mig, sizeof(mig), "%" PRIu64 "/%" PRIu64, ok, failed);
	if (any) {
		size_t l = (size_t)snprintf(verdict, sizeof(verdict), "RACE");
		for (int c = 0; c < LAB_NCLASS; c++)
			if (det[c])
				l += (size_t)snprintf(verdict + l, sizeof(verdict) - l, " %s",
						      lab_class_name(c));
		if (nruns > 1)
			l += (size_t)snprintf(verdict + l, sizeof(verdict) - l, " (%u/%u runs)",
					      runs_with, nruns);
		if (deadlocked)
			snprintf(verdict + l, sizeof(verdict) - l, ", %u deadlocked", deadlocked);
	} else if (!ok) {
		snprintf(verdict, sizeof(verdict), "VACUOUS: the migrator moved nothing");
	} else {
		snprintf(verdict, sizeof(verdict), "none, with %" PRIu64 " folios moved", ok);
	}
	if (ferr || bad_fsck) {
		size_t l = strlen(verdict);

		snprintf(verdict + l, sizeof(verdict) - l, "; %" PRIu64 " fs errors, %u unclean fsck",
			 ferr, bad_fsck);
	}
	fprintf(f, "%-16s %-34.34s %5s %5s %3s %5s %3s %8s %20s %-24s %8.0f  %s\n",
		r->strategy->name, r->strategy->kernel, cols[0], cols[1], cols[2], cols[3],
		cols[4], first_s, mig, lab_main_fail_reason(&all, &count), ops / nruns, verdict);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int lab_write_json(const char *path, const struct lab_result *r, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "[\n");
	for (size_t i = 0; i < n; i++) {
		const struct lab_result *x = &r[i];

		fprintf(f, "  {\"strategy\": ");
		json_str(f, x->strategy->name);
		fprintf(f, ", \"kernel\": ");
		json_str(f, x->strategy->kernel);
		fprintf(f, ", \"seed\": %" PRIu64 ", \"seconds\": %.3f,\n   \"detections\": {", x->seed,
			x->seconds);
		for (int c = 0; c < LAB_NCLASS; c++)
			fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "", lab_class_name(c),
				x->detections[c]);
		fprintf(f, "},\n   \"first_detection_s\": {");
		for (int c = 0; c < LAB_NCLASS; c++) {
			fprintf(f, "%s\"%s\": ", c ? ", " : "", lab_class_name(c));
			if (x->first_s[c] >= 0)
				fprintf(f, "%.4f", x->first_s[c]);
			else
				fprintf(f, "null");
		}
		fprintf(f, "},\n   \"migrations_ok\": %" PRIu64 ", \"migrations_failed\": %" PRIu64
			", \"migration_attempts\": %" PRIu64 ",\n   \"fail_reasons\": {",
			x->mig.ok, mig_failed(&x->mig), x->mig.attempts);
		for (int k = 0; k < MF_NR; k++) {
			fprintf(f, "%s", k ? ", " : "");
			json_str(f, migrate_fail_name(k));
			fprintf(f, ": %" PRIu64, x->mig.fail[k]);
		}
		fprintf(f, "},\n   \"ops_per_s\": %.1f, \"ops\": %" PRIu64 ", \"null_for_cached\": %" PRIu64
			", \"lookup_bails\": %" PRIu64 ", \"stale_reused\": %" PRIu64
			", \"fs_errors\": %" PRIu64 ", \"fs_errors_after_i3\": %" PRIu64
			",\n   \"fsck\": ",
			x->ops_per_s, x->ops, x->null_for_cached, x->lookup_bails, x->stale_reused,
			x->fs_errors, x->fs_errors_after_i3);
		json_str(f, x->fsck);
		fprintf(f, ", \"crash\": ");
		json_str(f, x->crash);
		fprintf(f, ", \"error\": ");
		json_str(f, x->error);
		fprintf(f, ", \"deadlocked\": %s, \"lock_deps\": %" PRIu64,
			x->deadlocked ? "true" : "false", x->lock_deps);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "]\n");
	return fclose(f) ? -1 : 0;
}

/* Time to first detection per strategy and class, log scale, one mark per run. */
int lab_write_svg(const char *path, const struct lab_result *r, size_t n, double seconds)
{
	static const char *const color[LAB_NCLASS] = { "#d62728", "#1f77b4", "#2ca02c", "#9467bd",
						       "#ff7f0e" };
	const struct strategy *names[64];
	size_t nnames = 0;
	double lo = 0.001, hi = seconds > 0.01 ? seconds : 1;
	int W, H = 420, left = 70, top = 30, plot_h = 300, col_w = 70;
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < nnames && names[k] != r[i].strategy; k++)
			;
		if (k == nnames && nnames < ARRAY_SIZE(names))
			names[nnames++] = r[i].strategy;
	}
	W = left + (int)nnames * col_w + 150;
#define Y(t) (top + plot_h - (int)((log10(t) - log10(lo)) / (log10(hi) - log10(lo)) * plot_h))
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"font-family=\"sans-serif\" font-size=\"11\">\n", W, H);
	fprintf(f, "<text x=\"%d\" y=\"18\" font-size=\"13\">jbdlab race: time to first detection "
		"(log scale; open circle: none in %.0f s)</text>\n", left, hi);
	for (double t = lo; t <= hi * 1.0001; t *= 10) {
		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%gs</text>\n",
			left, left + (int)nnames * col_w, Y(t), Y(t), left - 4, Y(t) + 4, t);
	}
	for (size_t k = 0; k < nnames; k++) {
		int x0 = left + (int)k * col_w;

		fprintf(f, "<text transform=\"translate(%d,%d) rotate(35)\">%s</text>\n",
			x0 + 10, top + plot_h + 14, names[k]->name);
		for (size_t i = 0, run = 0; i < n; i++) {
			bool any = false;

			if (r[i].strategy != names[k])
				continue;
			for (int c = 0; c < LAB_NCLASS; c++) {
				double t = r[i].first_s[c];

				if (t < 0)
					continue;
				any = true;
				if (t < lo)
					t = lo;
				fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"%s\">"
					"<title>%s seed %" PRIu64 " %s %.3fs</title></circle>\n",
					x0 + 8 + c * 10 + (int)(run % 3) * 2, Y(t), color[c],
					names[k]->name, r[i].seed, lab_class_name(c), r[i].first_s[c]);
			}
			if (!any)
				fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"3.5\" fill=\"none\" "
					"stroke=\"#555\"><title>%s seed %" PRIu64 ": none, %" PRIu64
					" folios moved</title></circle>\n", x0 + 30 + (int)(run % 5) * 3,
					top - 4, names[k]->name, r[i].seed, r[i].mig.ok);
			run++;
		}
	}
	for (int c = 0; c < LAB_NCLASS; c++)
		fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s"
			"</text>\n", W - 130, top + 10 + c * 16, color[c], W - 120, top + 14 + c * 16,
			lab_class_name(c));
#undef Y
	fprintf(f, "</svg>\n");
	return fclose(f) ? -1 : 0;
}
