// SPDX-License-Identifier: GPL-2.0
/* A C file in a folder with no Kbuild or Makefile: only onLanguage:c can activate the extension. */
int lkm_e2e_plain_value(void)
{
	return 1;
}
