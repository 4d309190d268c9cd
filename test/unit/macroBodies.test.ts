// macroBodies: what a function-like macro does with its arguments, read from its body.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { enclosingInvocation, invocationArguments, isNotValueArgument, namesDefinedBy, summarizeMacro, type MacroSummary } from '../../server/src/analysis/macroBodies';

test('summaries: pasted, stringified and member parameters are not values; definitions from a parameter', () => {
  const drm = summarizeMacro('fnname, list', 'const char *fnname(int val) { int i; for (i = 0; i < ARRAY_SIZE(list); i++) if (list[i].type == val) return list[i].name; return "?"; }');
  assert.deepEqual(drm.defines, [{ param: 0, prefix: '', suffix: '' }]);
  assert.deepEqual(drm.notValues, [0]);
  assert.deepEqual(summarizeMacro('name', 'static ssize_t name##_show(struct device *d, char *buf) { return 0; }').defines, [{ param: 0, prefix: '', suffix: '_show' }]);
  assert.deepEqual(summarizeMacro('ops, cmd, op', 'if ((ops)->op) set_bit(_IOC_NR(cmd), valid)').notValues, [1, 2]);
  assert.deepEqual(summarizeMacro('x', '#x').notValues, [0]);
  // Called, or used in an expression: a value.
  assert.deepEqual(summarizeMacro('fn', 'do { fn(1); } while (0)').notValues, []);
  assert.deepEqual(summarizeMacro('a, b', 'a + b').notValues, []);
  // A call of a parameter is not a definition: `return fn(x) {` is not C, `fn(x);` is a use.
  assert.deepEqual(summarizeMacro('fn', 'return fn(x);').defines, []);
});

test('an argument passed on is followed through the callee macros; an export macro is never a use', () => {
  const summaries = new Map<string, MacroSummary>([
    ['DEVICE_ATTR_RO', summarizeMacro('_name', 'struct device_attribute dev_attr_##_name = __ATTR_RO(_name)')],
    ['__ATTR_RO', summarizeMacro('_name', '{ .name = __stringify(_name), .show = _name##_show }')],
    ['__stringify', summarizeMacro('x...', '__stringify_1(x)')],
    ['__stringify_1', summarizeMacro('x...', '#x')],
    ['BAD', summarizeMacro('_name', 'register_it(_name)')],
  ]);
  const of = (name: string) => summaries.get(name);
  assert.equal(isNotValueArgument('DEVICE_ATTR_RO', 0, of), true);
  // Passed to a function (no summary): a value.
  assert.equal(isNotValueArgument('BAD', 0, of), false);
  assert.equal(isNotValueArgument('unknown_function', 0, of), false);
  assert.equal(isNotValueArgument('EXPORT_SYMBOL_GPL', 0, of), true);
});

test('invocations in text: the enclosing one of a whole argument, the arguments of one, the names it defines', () => {
  const text = 'x = SET_OP(ops, cmd, vidioc_querycap); y = f(a + vidioc_g_fmt);';
  const at = text.indexOf('vidioc_querycap');
  assert.deepEqual(enclosingInvocation(text, at, at + 'vidioc_querycap'.length), { callee: 'SET_OP', index: 2 });
  const inner = text.indexOf('vidioc_g_fmt');
  assert.equal(enclosingInvocation(text, inner, inner + 'vidioc_g_fmt'.length), undefined);
  const call = 'DRM_ENUM_NAME_FN(drm_get_dpms_name, drm_dpms_enum_list)';
  const args = invocationArguments(call, 'DRM_ENUM_NAME_FN'.length)!;
  assert.deepEqual(args, ['drm_get_dpms_name', 'drm_dpms_enum_list']);
  assert.deepEqual(namesDefinedBy({ notValues: [0], passes: [], defines: [{ param: 0, prefix: 'show_', suffix: '_x' }] }, args), ['show_drm_get_dpms_name_x']);
});
