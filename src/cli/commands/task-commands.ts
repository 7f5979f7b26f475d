/** task-list and task-show, as python-glanceclient names, flags and prints them. */
import { Option, type Command } from 'commander';
import type { Task } from '../../client/index.js';
import { positiveInteger } from '../iris-cli/option-parsers.js';
import { formatRecord, formatRows, type Column } from '../iris-cli/output.js';
import type { CommandContext } from './command-context.js';

/** glanceclient's `tasks.SORT_KEY_VALUES` / `SORT_DIR_VALUES`. */
const SORT_KEYS = ['id', 'type', 'status'];
const SORT_DIRS = ['asc', 'desc'] as const;
/** glanceclient's `tasks.DEFAULT_PAGE_SIZE`: the `limit` it sends without --page-size. */
const DEFAULT_PAGE_SIZE = 20;

const TASK_COLUMNS: readonly Column<Task>[] = [
  { header: 'ID', get: (t) => t.id },
  { header: 'Type', get: (t) => t.type },
  { header: 'Status', get: (t) => t.status },
  { header: 'Owner', get: (t) => t.owner },
];

export function registerTaskCommands(program: Command, ctx: CommandContext): void {
  program
    .command('task-list')
    .description('List tasks you can access.')
    .addOption(new Option('--sort-key <KEY>', 'Sort task list by specified field.').choices(SORT_KEYS).default('status'))
    .addOption(new Option('--sort-dir <DIR>', 'Sort task list in specified direction.').choices(SORT_DIRS).default('desc'))
    .option('--page-size <SIZE>', 'Number of tasks to request in each paginated request.', positiveInteger)
    .option('--type <TYPE>', 'Filter tasks to those that have this type.')
    .option('--status <STATUS>', 'Filter tasks to those that have this status.')
    .action(async (opts: { sortKey: string; sortDir: 'asc' | 'desc'; pageSize?: number; type?: string; status?: string }) => {
      const tasks: Task[] = [];
      for await (const task of ctx.client().tasks.listAll({
        type: opts.type,
        status: opts.status,
        sortKey: opts.sortKey,
        sortDir: opts.sortDir,
        pageSize: opts.pageSize ?? DEFAULT_PAGE_SIZE,
      })) {
        tasks.push(task);
      }
      ctx.print(formatRows(TASK_COLUMNS, tasks, ctx.output()));
    });

  program
    .command('task-show')
    .description('Describe a specific task.')
    .argument('<TASK_ID>', 'ID of task to describe.')
    .action(async (id: string) => {
      const { self: _self, schema: _schema, ...task } = await ctx.client().tasks.get(id);
      ctx.print(formatRecord(task, ctx.output({ maxWidth: 80 })));
    });
}
