"""Layer 3: security-awareness training and the staff directory it trains.

Owns the staff directory (people and groups, most of whom have no Carewall
login), the training modules shipped as Markdown files with quiz banks
(`library/`), assignments (on joining, annual, remedial, by hand),
reminders, learner links and completion certificates. It never imports
`records` (patient data is unreachable from here) nor `phishing` (which
sits above it and assigns remedial training through `assign_remedial_in`).
"""

from carewall.training import queries
from carewall.training.access import Learner, learner_for_link, learner_for_user
from carewall.training.assignments import assign, assign_annual, assign_remedial_in
from carewall.training.content import Module, module, modules
from carewall.training.directory import (
    ImportReport,
    StaffInput,
    add_member,
    check_address,
    import_csv,
    sync_accounts,
    upsert_in,
)
from carewall.training.errors import OutsideOrganisationError, QuizClosedError
from carewall.training.groups import create_group, members_named, set_members
from carewall.training.learning import (
    certificate,
    mail_training,
    new_learner_link,
    open_paper,
    send_reminders,
    start_quiz,
    submit_quiz,
)
from carewall.training.models import StaffMember
from carewall.training.tags import TrainingTag

#: Training encrypts nothing of its own (learner links are stored as hashes).
DATA_KEYS: tuple[str, ...] = ()

__all__ = [
    "DATA_KEYS",
    "ImportReport",
    "Learner",
    "Module",
    "OutsideOrganisationError",
    "QuizClosedError",
    "StaffInput",
    "StaffMember",
    "TrainingTag",
    "add_member",
    "assign",
    "assign_annual",
    "assign_remedial_in",
    "certificate",
    "check_address",
    "create_group",
    "import_csv",
    "learner_for_link",
    "learner_for_user",
    "mail_training",
    "members_named",
    "module",
    "modules",
    "new_learner_link",
    "open_paper",
    "queries",
    "send_reminders",
    "set_members",
    "start_quiz",
    "submit_quiz",
    "sync_accounts",
    "upsert_in",
]
