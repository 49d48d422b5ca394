"""Where the workspace is: its ARM id from explicit config or the environment."""

from __future__ import annotations

from ._constants import LISTSECRETS_API_VERSION, EnvironmentVariables
from .errors import ConfigurationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

_WORKSPACE_ID = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)


class Workspace:
    """An Azure ML workspace, known by subscription, resource group and name."""

    __slots__ = ("name", "resource_group", "subscription")

    def __init__(self, subscription: str, resource_group: str, name: str) -> None:
        self.subscription = subscription
        self.resource_group = resource_group
        self.name = name

    @classmethod
    def from_resource_id(cls, resource_id: str, *, exact: bool = True) -> Workspace:
        """Parse a workspace ARM id; with ``exact=False`` any id below a workspace works."""
        import re

        text = resource_id.strip().rstrip("/")
        find = re.fullmatch if exact else re.match
        m = find(_WORKSPACE_ID, text, re.IGNORECASE)
        if m is None:
            raise ValueError(
                "expected '/subscriptions/<sub>/resourceGroups/<rg>/providers/"
                f"Microsoft.MachineLearningServices/workspaces/<ws>', got {resource_id!r}"
            )
        return cls(m["sub"], m["rg"], m["ws"])

    @property
    def resource_id(self) -> str:
        """The workspace's ARM id."""
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.name}"
        )

    def listsecrets_url(
        self, arm_endpoint: str, connection: str, api_version: str = LISTSECRETS_API_VERSION
    ) -> str:
        """Return the ListSecrets URL of ``connection`` in this workspace."""
        base = arm_endpoint.rstrip("/")
        return (
            f"{base}{self.resource_id}/connections/{connection}/listsecrets"
            f"?api-version={api_version}"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workspace):
            return NotImplemented
        return self.resource_id.lower() == other.resource_id.lower()

    def __hash__(self) -> int:
        return hash(self.resource_id.lower())

    def __repr__(self) -> str:
        return f"Workspace({self.resource_id!r})"


def workspace_from_environ(environ: Mapping[str, str]) -> Workspace | None:
    """Find the workspace in the environment, or None if no variable names it.

    Order: ``SECRETINJ_WORKSPACE_ID``, then ``AML_DEPLOYMENT_RESOURCE_ID`` (its workspace
    part), then the ``AZUREML_ARM_*`` triple. A malformed value raises `ConfigurationError`
    naming the variable.
    """
    env = EnvironmentVariables
    for var, exact in ((env.WORKSPACE_ID, True), (env.DEPLOYMENT_RESOURCE_ID, False)):
        value = environ.get(var, "").strip()
        if value:
            try:
                return Workspace.from_resource_id(value, exact=exact)
            except ValueError as ex:
                raise ConfigurationError(f"{var} is malformed: {ex}") from None
    triple = [
        environ.get(v, "").strip()
        for v in (env.ARM_SUBSCRIPTION, env.ARM_RESOURCE_GROUP, env.ARM_WORKSPACE_NAME)
    ]
    if all(triple):
        return Workspace(*triple)
    return None


UNKNOWN_WORKSPACE_HINT = (
    "the workspace is unknown: set SECRETINJ_WORKSPACE_ID to '/subscriptions/<sub>/resourceGroups/"
    "<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>' in the deployment's "
    "environment_variables (or AML_DEPLOYMENT_RESOURCE_ID, or AZUREML_ARM_SUBSCRIPTION, "
    "AZUREML_ARM_RESOURCEGROUP and AZUREML_ARM_WORKSPACE_NAME)"
)
