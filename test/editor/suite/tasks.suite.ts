// The `lkm` task provider, checked against the task type package.json declares (read at test time).
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, test } from 'mocha';
import * as vscode from 'vscode';
import { activeExtension, lkmExtension } from './helpers';

interface TaskDefinitionSchema {
  type: string;
  required?: string[];
  properties?: { action?: { enum?: string[] } };
}

suite('tasks', () => {
  suiteSetup(activeExtension);

  test('the lkm task provider offers one task per declared action', async () => {
    const schemas = (lkmExtension().packageJSON.contributes?.taskDefinitions ?? []) as TaskDefinitionSchema[];
    const schema = schemas.find((d) => d.type === 'lkm');
    assert.ok(schema, 'package.json declares no lkm task type');
    const declared = schema.properties?.action?.enum ?? [];
    assert.ok(declared.length > 0, 'the lkm task type declares no actions');

    const tasks = await vscode.tasks.fetchTasks({ type: 'lkm' });
    const actions = tasks.map((t) => String(t.definition.action)).sort();
    assert.deepEqual(actions, [...declared].sort());
    for (const task of tasks) {
      assert.equal(task.source, 'lkm');
      assert.equal(task.name, task.definition.action);
      for (const key of schema.required ?? []) assert.ok(key in task.definition, `task ${task.name} lacks required "${key}"`);
      assert.ok(task.execution instanceof vscode.CustomExecution, `task ${task.name} is not run by the extension`);
      assert.ok(task.problemMatchers.includes('$lkm-kbuild'), `task ${task.name} does not match kbuild diagnostics`);
    }
  });
});
