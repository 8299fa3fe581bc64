// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: administer veil encrypted logical units (eVLUs).
 *
 * This file only holds the subcommand table, the help text and the
 * logging helpers; each subcommand lives in its own cmd_*.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "veilctl.h"
#include "version.h"

const char *vc_prog = "veilctl";
bool vc_quiet;

static const struct vc_cmd cmds[] = {
	{ "encrypt", cmd_encrypt,
	  "encrypt DEV [NAME] [--key-id HEX [--key-bytes N]] [-c CONF] [--local]\n"
	  "        [--cipher SPEC] [--sector-size 512|4096] [--label TEXT]\n"
	  "        [--plaintext START:LEN]... [--no-attach] [--key-timeout S]\n"
	  "        [--allow-discards] [--wait S]" },
	{ "attach", cmd_attach,
	  "attach DEV [NAME] [--key-timeout S] [--allow-discards] [--read-only]\n"
	  "        [--wait S] [--auto] [--background] [--veiltab FILE]\n"
	  "      attach --all|--initrd [--wait S] [--veiltab FILE]" },
	{ "detach", cmd_detach, "detach NAME|DEV" },
	{ "status", cmd_status, "status [NAME|DEV] [--json] [--etc DIR]" },
	{ "list", cmd_list, "list [--json]" },
	{ "update", cmd_update, "update NAME|DEV [--wait S]" },
	{ "decrypt-off", cmd_decrypt_off, "decrypt-off DEV|NAME --yes-destroy-data" },
	{ "migrate", cmd_migrate,
	  "migrate SRC DST [NAME] [--key-id HEX [--key-bytes N]] [-c CONF]\n"
	  "        [--local] [--cipher SPEC] [--sector-size 512|4096] [--label TEXT]\n"
	  "        [--plaintext START:LEN]... [--wait S]\n"
	  "        [--progress|--no-progress] [--no-verify]" },
	{ "reencrypt", cmd_reencrypt,
	  "reencrypt NAME|DEV [--resume] [--window SECTORS] [--rate BYTES/s]\n"
	  "        [-c CONF] [--local] [--wait S] [--progress|--no-progress]" },
	{ "resize", cmd_resize, "resize DEV|NAME [--size SECTORS] [--shrink]" },
	{ "probe", cmd_probe, "probe DEV | --mapping NAME   (udev helper)" },
	{ "setup", cmd_setup,
	  "setup --server HOST[:PORT] --ca FILE [--cn NAME | --cert FILE --key FILE]\n"
	  "        [--server-name NAME] [--etc DIR] [--no-systemd]\n"
	  "      setup --install-cert FILE [--etc DIR]" },
	{ "renew", cmd_renew, "renew [--cn NAME] [--etc DIR]" },
	{ "dump", cmd_dump, "dump DEV [--json]" },
	{ "header", cmd_header,
	  "header backup DEV FILE\n      header restore DEV FILE [--force]" },
	{ "dmcrypt-table", cmd_dmcrypt_table, "dmcrypt-table DEV < KEY" },
	{ "veiltab", cmd_veiltab, "veiltab [--initrd] [--quiet] [--veiltab FILE]" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char exit_text[] =
"exit status:\n"
"   0  success\n"
"   1  operation failed (I/O, device-mapper)\n"
"   2  usage error\n"
"   3  device busy: mounted, swap, held by another device, or open\n"
"   4  device is already an eVLU\n"
"   5  not an eVLU (no veil metadata), or not a veil mapping\n"
"   6  metadata damaged or written by a newer veil (state unknown)\n"
"   7  veil or device-mapper kernel modules missing, or of another version\n"
"   8  no key: the key manager refused or does not know the key (no-key)\n"
"   9  still waiting for the key when --wait ran out (waiting-for-key)\n"
"  10  key manager error while creating a key\n"
"  11  no such device or mapping\n"
"  12  host certificate or configuration problem\n"
"  13  permission denied: run as root (CAP_SYS_ADMIN)\n"
"  14  header backup damaged, or of another LU\n"
"  15  re-encryption: none in progress to --resume, or one in progress\n"
"      where the command needs a single key (dmcrypt-table)\n"
" 130  reencrypt interrupted by SIGINT (143: SIGTERM); --resume continues\n";

static void vmsg(const char *pfx, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", vc_prog, pfx);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void vc_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void vc_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void vc_info(const char *fmt, ...)
{
	va_list ap;

	if (vc_quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s [-q] COMMAND ARGS...\n\n", vc_prog);
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %s\n", cmds[i].synopsis);
	fprintf(f, "\n%s ... --help shows one command; veilctl(8) has the details.\n\n%s",
		vc_prog, exit_text);
}

int vc_usage(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, cmd))
			fprintf(stderr, "usage: %s %s\n", vc_prog,
				cmds[i].synopsis);
	return VC_EUSAGE;
}

int main(int argc, char **argv)
{
	size_t i;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-q") || !strcmp(argv[1], "--quiet")) {
			vc_quiet = true;
		} else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			help(stdout);
			return VC_OK;
		} else if (!strcmp(argv[1], "--version")) {
			veil_print_version(stdout, vc_prog);
			printf("dm-veil target %d.x\n", VC_TARGET_MAJOR);
			return VC_OK;
		} else {
			fprintf(stderr, "%s: unknown option %s\n", vc_prog,
				argv[1]);
			help(stderr);
			return VC_EUSAGE;
		}
		argv++;
		argc--;
	}
	if (argc < 2) {
		help(stderr);
		return VC_EUSAGE;
	}
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmds[i].name, argv[1]))
			continue;
		if (argc > 2 && (!strcmp(argv[2], "--help") ||
				 !strcmp(argv[2], "-h"))) {
			printf("usage: %s %s\n\n%s", vc_prog,
			       cmds[i].synopsis, exit_text);
			return VC_OK;
		}
		return cmds[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "%s: unknown command '%s'\n", vc_prog, argv[1]);
	help(stderr);
	return VC_EUSAGE;
}
