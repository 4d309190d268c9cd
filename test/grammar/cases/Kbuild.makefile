# SYNTAX TEST "source.makefile" "Kbuild lines and the kbuild invocation of an external module's Makefile"
obj-m += lkm_example.o
# <----- variable.language.goal.kbuild
#        ^^^^^^^^^^^^^ meta.assignment.goal.kbuild string.unquoted.object.kbuild
obj-$(CONFIG_LKM_EXAMPLE) := lkm_example.o
# <------------------------ variable.language.goal.kbuild
lkm_example-objs := main.o util.o
# <----------- entity.name.type.module.kbuild
#          ^^^^^ variable.language.composite.kbuild
#                   ^^^^^^ string.unquoted.object.kbuild
#                          ^^^^^^ string.unquoted.object.kbuild
lkm_example-y := main.o \
	util.o
#^^^^^^ meta.assignment.composite.kbuild string.unquoted.object.kbuild
ccflags-y += -DDEBUG -I$(src)/include
# <--------- variable.language.flags.kbuild
#                        ^^^ variable.language.kbuild
CFLAGS_main.o := -O1
# <------------ variable.language.flags.kbuild
# obj-m in a comment is not a goal
#  ^^^^^ - variable.language.goal.kbuild
ifneq ($(KERNELRELEASE),)
#        ^^^^^^^^^^^^^ variable.language.kbuild
endif
KDIR ?= /lib/modules/$(shell uname -r)/build
all:
	$(MAKE) -C $(KDIR) M=$(PWD) modules
#^^^^^^^ meta.kbuild-invocation.kbuild support.function.make.kbuild
#        ^^ variable.parameter.option.kbuild
#                   ^ variable.parameter.option.kbuild
#                    ^ keyword.operator.assignment.kbuild
#                            ^^^^^^^ keyword.other.target.kbuild
clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean
#^^^^^^^ meta.kbuild-invocation.kbuild support.function.make.kbuild
#        ^^ variable.parameter.option.kbuild
#                   ^ variable.parameter.option.kbuild
#                    ^ keyword.operator.assignment.kbuild
#                            ^^^^^ keyword.other.target.kbuild
