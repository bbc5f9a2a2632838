"""After the activity: attestations of attendance, evaluations with the default questions per
kind, materials, and the moment staff declared an activity's attendance complete.

Revision ID: c7b6562e7fdd
Revises: a7c3e5f9b214
Create Date: 2026-11-30 01:29:31.771776

"""
from alembic import op
import sqlalchemy as sa


revision = 'c7b6562e7fdd'
down_revision = 'a7c3e5f9b214'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('visit', 'intervision', 'training', name='eventkind', native_enum=False, length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('answer_type', sa.String(length=10), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('is_required', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_questions'))
    )
    with op.batch_alter_table('evaluation_questions', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_questions_kind_position', ['kind', 'position'], unique=False)

    op.create_table('evaluation_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_evaluation_responses_event_id_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_responses'))
    )
    with op.batch_alter_table('evaluation_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_responses_event_id'), ['event_id'], unique=False)

    op.create_table('materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('stored_name', sa.String(length=64), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(event_id IS NULL) <> (series_id IS NULL)', name=op.f('ck_materials_material_of_one_event_or_series')),
    sa.CheckConstraint('(url IS NULL) <> (stored_name IS NULL)', name=op.f('ck_materials_material_file_or_link')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_materials_created_by_id_staff_users')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_materials_event_id_events')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_materials_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_materials')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_materials_stored_name'))
    )
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_materials_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_series_id'), ['series_id'], unique=False)

    op.create_table('attestations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('person_name', sa.String(length=201), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('visit', 'intervision', 'training', name='eventkind', native_enum=False, length=20), nullable=False),
    sa.Column('sessions', sa.JSON(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.Text(), nullable=False),
    sa.Column('verifiable_until', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(event_id IS NULL) <> (series_id IS NULL)', name=op.f('ck_attestations_attests_one_event_or_series')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_attestations_event_id_events')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_attestations_registration_id_registrations')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['attestations.id'], name=op.f('fk_attestations_replaced_by_id_attestations')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_attestations_series_id_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestations')),
    sa.UniqueConstraint('code', name=op.f('uq_attestations_code'))
    )
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attestations_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attestations_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attestations_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attestations_verifiable_until'), ['verifiable_until'], unique=False)
        batch_op.create_index(
            'uq_attestations_valid_per_registration', ['registration_id'], unique=True,
            postgresql_where=sa.text(VALID), sqlite_where=sa.text(VALID))

    op.create_table('evaluation_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['question_id'], ['evaluation_questions.id'], name=op.f('fk_evaluation_answers_question_id_evaluation_questions')),
    sa.ForeignKeyConstraint(['response_id'], ['evaluation_responses.id'], name=op.f('fk_evaluation_answers_response_id_evaluation_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['theme_id'], ['themes.id'], name=op.f('fk_evaluation_answers_theme_id_themes'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_answers'))
    )
    with op.batch_alter_table('evaluation_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_answers_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_answers_response_id'), ['response_id'], unique=False)

    op.create_table('evaluation_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('is_used', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_evaluation_invitations_event_id_events')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_evaluation_invitations_registration_id_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_invitations')),
    sa.UniqueConstraint('registration_id', 'event_id', name=op.f('uq_evaluation_invitations_registration_id')),
    sa.UniqueConstraint('token', name=op.f('uq_evaluation_invitations_token'))
    )
    with op.batch_alter_table('evaluation_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_invitations_event_id'), ['event_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_final_at', sa.DateTime(timezone=True), nullable=True))
    questions = sa.table(
        "evaluation_questions", sa.column("kind", sa.String), sa.column("position", sa.Integer),
        sa.column("answer_type", sa.String), sa.column("label", sa.String),
        sa.column("is_required", sa.Boolean), sa.column("is_active", sa.Boolean))
    op.bulk_insert(questions, [
        {"kind": kind, "position": position, "answer_type": answer_type,
         "label": label.format(noun=noun), "is_required": required, "is_active": True}
        for kind, noun in KIND_NOUNS.items()
        for position, (answer_type, label, required) in enumerate(DEFAULT_QUESTIONS, start=1)
    ])


VALID = "replaced_at IS NULL AND revoked_at IS NULL"
KIND_NOUNS = {"visit": "dit werkbezoek", "intervision": "dit intervisiemoment",
              "training": "deze vorming"}
DEFAULT_QUESTIONS = (
    ("score", "Hoe tevreden ben je over {noun}, alles samen?", True),
    ("score", "Hoe bruikbaar is {noun} voor jouw gemeente?", True),
    ("text", "Wat vond je het nuttigst?", False),
    ("text", "Wat kunnen we beter doen?", False),
    ("theme", "Over welk thema wil je hierna iets volgen?", False),
)



def downgrade():
    # In place: rebuilding events would make SQLite, with its foreign keys on, cascade the drop.
    with op.batch_alter_table('events', recreate="never") as batch_op:
        batch_op.drop_column('attendance_final_at')

    with op.batch_alter_table('evaluation_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_invitations_event_id'))

    op.drop_table('evaluation_invitations')
    with op.batch_alter_table('evaluation_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_answers_response_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_answers_question_id'))

    op.drop_table('evaluation_answers')
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.drop_index('uq_attestations_valid_per_registration')
        batch_op.drop_index(batch_op.f('ix_attestations_verifiable_until'))
        batch_op.drop_index(batch_op.f('ix_attestations_series_id'))
        batch_op.drop_index(batch_op.f('ix_attestations_registration_id'))
        batch_op.drop_index(batch_op.f('ix_attestations_event_id'))

    op.drop_table('attestations')
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_materials_series_id'))
        batch_op.drop_index(batch_op.f('ix_materials_event_id'))

    op.drop_table('materials')
    with op.batch_alter_table('evaluation_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_responses_event_id'))

    op.drop_table('evaluation_responses')
    with op.batch_alter_table('evaluation_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_questions_kind_position')

    op.drop_table('evaluation_questions')
