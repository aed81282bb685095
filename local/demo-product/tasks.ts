/**
 * The demo task tracker's data: an in-memory list of tasks with per-user
 * access rules keyed by the demo subjects (local/demo-users.ts).
 *
 * Access rules:
 *  - a task whose `visibleTo` is "everyone" is readable by every demo user;
 *  - otherwise only the listed subjects may read it (others get 403);
 *  - an archived task answers 410 to everyone who could read it, 403 to others;
 *  - an unknown id answers 404.
 */
import { createHash } from 'node:crypto';
import type { DemoTaskJson } from '#adapters/sources/demo-product.js';
import { findDemoUserBySubject } from '#local/demo-users.js';

export type TaskStatus = 'todo' | 'in_progress' | 'in_review' | 'done';
export type Priority = 'low' | 'medium' | 'high';
export type EmbedKind = 'image' | 'video' | 'audio' | 'html' | 'pdf';

export const STATUSES: Readonly<Record<TaskStatus, { name: string; color: string }>> = {
  todo: { name: 'To do', color: '#9aa0a6' },
  in_progress: { name: '🔨 In progress', color: '#1a73e8' },
  in_review: { name: '👀 In review', color: '#a142f4' },
  done: { name: '✅ Done', color: '#188038' },
};

export interface Task {
  readonly id: string;
  title: string;
  status: TaskStatus;
  assignee: string | null;
  due: string | null;
  priority: Priority;
  description: string;
  /**
   * Embed path relative to the product's base URL (e.g. "/assets/tasks/1.svg"), or an absolute URL.
   * `showsTask`: the file is drawn from the task (its title, status, …), so its URL carries a
   * content version (`?v=`) that changes with what it shows.
   */
  embed: { kind: EmbedKind; path: string; showsTask?: boolean } | null;
  visibleTo: 'everyone' | readonly string[];
  archived: boolean;
  updatedAt: number;
}

export type ReadResult =
  | { readonly outcome: 'found'; readonly task: Task }
  | { readonly outcome: 'not_found' | 'forbidden' | 'gone' };

/** The seed data every fresh start (and every test) begins with. */
export const seedTasks = (now: number): Task[] => [
  {
    id: '1',
    title: 'Ship link previews for task links',
    status: 'in_progress',
    assignee: 'u-alice',
    due: '2026-12-15',
    priority: 'high',
    description:
      'Paste a task link into Notion and see its status, assignee and due date.\nUpdates arrive when the task changes.',
    embed: { kind: 'image', path: '/assets/tasks/1.svg', showsTask: true },
    visibleTo: 'everyone',
    archived: false,
    updatedAt: now,
  },
  {
    id: '2',
    title: 'Write the operator runbook',
    status: 'in_review',
    assignee: 'u-bob',
    due: '2026-12-01',
    priority: 'medium',
    description: 'Dead-letter redrive, revoking a connection, reading rate-limit metrics.',
    embed: { kind: 'html', path: '/tasks/2/card', showsTask: true },
    visibleTo: 'everyone',
    archived: false,
    updatedAt: now,
  },
  {
    id: '3',
    title: "Alice's salary review notes",
    status: 'todo',
    assignee: 'u-alice',
    due: null,
    priority: 'low',
    description: 'Private to Alice.',
    embed: null,
    visibleTo: ['u-alice'],
    archived: false,
    updatedAt: now,
  },
  {
    id: '4',
    title: 'Migrate the old tracker',
    status: 'done',
    assignee: 'u-carol',
    due: '2025-06-30',
    priority: 'medium',
    description: 'Archived after the migration.',
    embed: null,
    visibleTo: 'everyone',
    archived: true,
    updatedAt: now,
  },
  {
    id: '5',
    title: 'Quarterly planning',
    status: 'todo',
    assignee: 'u-carol',
    due: '2027-01-10',
    priority: 'high',
    description: 'Shared by Bob and Carol.',
    embed: { kind: 'pdf', path: '/assets/plan.pdf' },
    visibleTo: ['u-bob', 'u-carol'],
    archived: false,
    updatedAt: now,
  },
  {
    id: '6',
    title: 'Record the release announcement',
    status: 'todo',
    assignee: null,
    due: null,
    priority: 'low',
    description: 'A short audio note for the team.',
    embed: { kind: 'audio', path: '/assets/chime.wav' },
    visibleTo: 'everyone',
    archived: false,
    updatedAt: now,
  },
];

const canSee = (task: Task, subject: string): boolean =>
  task.visibleTo === 'everyone' || task.visibleTo.includes(subject);

export interface TaskEdit {
  readonly title?: string;
  readonly status?: TaskStatus;
  readonly assignee?: string | null;
  readonly due?: string | null;
  readonly priority?: Priority;
  readonly description?: string;
}

export class TaskStore {
  private readonly tasks = new Map<string, Task>();

  constructor(private readonly now: () => number = Date.now) {
    for (const t of seedTasks(now())) this.tasks.set(t.id, t);
  }

  list(): Task[] {
    return [...this.tasks.values()];
  }

  /** Replaces every task with `tasks` (the kept state of an earlier run, see persistence.ts). */
  replaceAll(tasks: readonly Task[]): void {
    this.tasks.clear();
    for (const t of tasks) this.tasks.set(t.id, { ...t });
  }

  /** What `subject` may know about task `id`. */
  read(id: string, subject: string): ReadResult {
    const task = this.tasks.get(id);
    if (!task) return { outcome: 'not_found' };
    if (!canSee(task, subject)) return { outcome: 'forbidden' };
    if (task.archived) return { outcome: 'gone' };
    return { outcome: 'found', task };
  }

  /** Applies an edit as `subject`; returns the names of the fields that changed. */
  edit(id: string, subject: string, edit: TaskEdit): { result: ReadResult; changed: string[] } {
    const result = this.read(id, subject);
    if (result.outcome !== 'found') return { result, changed: [] };
    const task = result.task;
    const changed: string[] = [];
    const set = <K extends keyof TaskEdit & keyof Task>(key: K, value: Task[K] | undefined) => {
      if (value !== undefined && task[key] !== value) {
        task[key] = value;
        changed.push(key);
      }
    };
    set('title', edit.title?.trim() || undefined);
    set('status', edit.status);
    set('assignee', edit.assignee);
    set('due', edit.due);
    set('priority', edit.priority);
    set('description', edit.description);
    if (changed.length > 0) task.updatedAt = this.now();
    return { result, changed };
  }
}

/**
 * The version of the media drawn from a task: a short hash of what they show
 * (title, status, due date, description). It changes exactly when the picture
 * or card would look different, so a changed task gets a new embed URL, which
 * makes Notion (and any browser cache) fetch the file again, while an edit of
 * something the media do not show keeps the URL.
 */
export const taskMediaVersion = (task: Task): string =>
  createHash('sha256')
    .update(JSON.stringify([task.title, task.status, task.due, task.description]))
    .digest('base64url')
    .slice(0, 12);

const embedUrl = (task: Task, embed: NonNullable<Task['embed']>, baseUrl: string): string => {
  const url = /^https?:/.test(embed.path) ? embed.path : `${baseUrl}${embed.path}`;
  return embed.showsTask ? `${url}?v=${taskMediaVersion(task)}` : url;
};

/** The API representation of a task (absolute URLs under `baseUrl`, e.g. http://127.0.0.1:3000/demo). */
export const taskJson = (task: Task, baseUrl: string): DemoTaskJson => ({
  id: task.id,
  title: task.title,
  url: `${baseUrl}/tasks/${task.id}`,
  status: STATUSES[task.status],
  assignee: task.assignee
    ? { subject: task.assignee, name: findDemoUserBySubject(task.assignee)?.name ?? task.assignee }
    : null,
  due: task.due,
  updatedAt: new Date(task.updatedAt).toISOString(),
  priority: task.priority,
  description: task.description,
  embed: task.embed ? { kind: task.embed.kind, url: embedUrl(task, task.embed, baseUrl) } : null,
});
