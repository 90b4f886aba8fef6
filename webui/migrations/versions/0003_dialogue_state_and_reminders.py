"""dialogue state on conversations, and reminders

Conversations get ``dialogue_state`` (JSON text, NULL until the bot hands one back); reminders belong to a
user or a guest exactly as conversations do, with an index per owner kind on (owner, due_at).

Revision ID: 0003
Revises: 0002
Created: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('guest_key', sa.String(length=32), nullable=True),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name='fk_reminders_conversation_id_conversations', ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_reminders_user_id_users', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminders_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_reminders_guest_key_due_at', ['guest_key', 'due_at'], unique=False)
        batch_op.create_index('ix_reminders_user_id_due_at', ['user_id', 'due_at'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dialogue_state', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('dialogue_state')

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_user_id_due_at')
        batch_op.drop_index('ix_reminders_guest_key_due_at')
        batch_op.drop_index(batch_op.f('ix_reminders_conversation_id'))

    op.drop_table('reminders')
