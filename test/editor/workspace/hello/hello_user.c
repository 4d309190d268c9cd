// SPDX-License-Identifier: GPL-2.0
/* A userspace test program beside the module: LKM: Run Program in Guest builds and runs it there. */
#include <stdio.h>
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;

	if (uname(&u) != 0)
		return 1;
	printf("hello_user: running on %s %s\n", u.sysname, u.release);
	return 0;
}
