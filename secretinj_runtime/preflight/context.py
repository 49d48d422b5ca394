"""What the checks share: the inputs, the readers, the report, and what earlier checks found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..references import ConnectionReference, KeyVaultReference
from ..workspace import Workspace
from .arm import ArmReader
from .inputs import Inputs
from .keyvault import VaultVersions
from .model import Report
from .rbac import Permission

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..transport import Transport


@dataclass
class Principal:
    """An identity the endpoint uses: a label for messages and, once known, its object id."""

    label: str  # "system-assigned identity", "user-assigned identity <name>"
    principal_id: str | None
    kind: str  # system_assigned | user_assigned
    problem: str | None = None  # why the id is unknown (None: not created yet)
    missing: bool = False  # the identity does not exist


@dataclass
class EndpointFacts:
    """The endpoint's identity and flag, from the existing endpoint and/or its YAML."""

    name: str | None
    exists: bool | None = None  # None: could not tell
    kind: str | None = None  # system_assigned | user_assigned | none | None (unknown)
    enforce: str | None = None
    source: str = ""
    principals: list[Principal] = field(default_factory=list)
    problem: str = ""


@dataclass
class Context:
    """The state of one preflight run."""

    inputs: Inputs
    report: Report
    clock: Callable[[], float]
    check_keys: bool = False
    transport: Transport | None = None
    arm_token: Callable[[], str] | None = None
    arm: ArmReader | None = None
    versions: VaultVersions | None = None
    connection_refs: dict[str, ConnectionReference] = field(default_factory=dict)
    vault_refs: dict[str, KeyVaultReference] = field(default_factory=dict)
    workspace_found: bool | None = None
    deployer: list[Permission] | None = None  # None: unknown
    endpoint: EndpointFacts | None = None

    @property
    def workspace(self) -> Workspace:
        """The workspace (only called once it is known)."""
        assert self.inputs.workspace is not None
        return self.inputs.workspace

    @property
    def reader(self) -> ArmReader:
        """The ARM reader (only called once a token was obtained)."""
        assert self.arm is not None
        return self.arm
