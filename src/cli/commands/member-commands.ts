/**
 * The member-* subcommands (image sharing), as python-glanceclient names them: member-create,
 * member-list --image-id, member-get, member-update, member-delete.
 */
import { Argument, type Command } from 'commander';
import type { ImageMember, MemberStatus } from '../../client/index.js';
import { formatRecord, formatRows, type Column } from '../iris-cli/output.js';
import type { CommandContext } from './command-context.js';

const MEMBER_STATUSES: readonly MemberStatus[] = ['accepted', 'rejected', 'pending'];

const MEMBER_COLUMNS: readonly Column<ImageMember>[] = [
  { header: 'Image ID', get: (m) => m.image_id },
  { header: 'Member ID', get: (m) => m.member_id },
  { header: 'Status', get: (m) => m.status },
];

export function registerMemberCommands(program: Command, ctx: CommandContext): void {
  program
    .command('member-create')
    .description('Create member for a given image.')
    .argument('<IMAGE_ID>', 'Image with which to create member.')
    .argument('<MEMBER_ID>', 'Tenant to add as member.')
    .action(async (imageId: string, memberId: string) => {
      const member = await ctx.client().members.add(imageId, memberId);
      ctx.print(formatRows(MEMBER_COLUMNS, [member], ctx.output()));
    });

  program
    .command('member-list')
    .description('Describe sharing permissions by image.')
    .requiredOption('--image-id <IMAGE_ID>', 'Image to display members of.')
    .action(async (opts: { imageId: string }) => {
      const members = await ctx.client().members.list(opts.imageId);
      ctx.print(formatRows(MEMBER_COLUMNS, members, ctx.output()));
    });

  program
    .command('member-get')
    .description('Show details of an image member')
    .argument('<IMAGE_ID>', 'Image from which to display member.')
    .argument('<MEMBER_ID>', 'Project to display.')
    .action(async (imageId: string, memberId: string) => {
      const member = await ctx.client().members.get(imageId, memberId);
      ctx.print(formatRecord({ ...member }, ctx.output({ maxWidth: 80 })));
    });

  program
    .command('member-update')
    .description('Update the status of a member for a given image.')
    .argument('<IMAGE_ID>', 'Image from which to update member.')
    .argument('<MEMBER_ID>', 'Tenant to update.')
    .addArgument(new Argument('<MEMBER_STATUS>', `Updated status of member. Valid Values: ${MEMBER_STATUSES.join(', ')}`).choices(MEMBER_STATUSES))
    .action(async (imageId: string, memberId: string, status: MemberStatus) => {
      const member = await ctx.client().members.update(imageId, memberId, status);
      ctx.print(formatRows(MEMBER_COLUMNS, [member], ctx.output()));
    });

  program
    .command('member-delete')
    .description('Delete image member.')
    .argument('<IMAGE_ID>', 'Image from which to remove member.')
    .argument('<MEMBER_ID>', 'Tenant to remove as member.')
    .action(async (imageId: string, memberId: string) => {
      await ctx.client().members.delete(imageId, memberId);
    });
}
