"""The session state machine of design.md: states, allowed moves, request table."""

from __future__ import annotations

from enum import StrEnum

from ..errors import InvalidTransition
from ..types import FINAL_STATES, SessionState

S = SessionState

TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    S.CREATED: frozenset({S.STARTING, S.STOPPED, S.FAILED}),
    S.STARTING: frozenset({S.RUNNING, S.STOPPING, S.FAILED, S.INTERRUPTED}),
    S.RUNNING: frozenset({S.STOPPING, S.FAILED, S.INTERRUPTED}),
    S.STOPPING: frozenset({S.STOPPED, S.FAILED, S.INTERRUPTED}),
    S.STOPPED: frozenset(),
    S.FAILED: frozenset(),
    S.INTERRUPTED: frozenset(),
}


class Request(StrEnum):
    START = "start"
    STOP = "stop"
    DELETE = "delete"


class Action(StrEnum):
    """What a request does in a state (design.md's request table)."""

    START = "start"
    STOP_NOW = "stop_now"  # created -> stopped, nothing to release
    STOP = "stop"  # ask the worker to stop
    WAIT = "wait"  # already stopping: wait for it
    NOTHING = "nothing"
    DELETE = "delete"
    STOP_THEN_DELETE = "stop_then_delete"
    WAIT_THEN_DELETE = "wait_then_delete"


REQUESTS: dict[Request, dict[SessionState, Action | None]] = {
    Request.START: {S.CREATED: Action.START},
    Request.STOP: {
        S.CREATED: Action.STOP_NOW,
        S.STARTING: Action.STOP,
        S.RUNNING: Action.STOP,
        S.STOPPING: Action.NOTHING,
        S.STOPPED: Action.NOTHING,
        S.FAILED: Action.NOTHING,
        S.INTERRUPTED: Action.NOTHING,
    },
    Request.DELETE: {
        S.CREATED: Action.DELETE,
        S.STARTING: Action.STOP_THEN_DELETE,
        S.RUNNING: Action.STOP_THEN_DELETE,
        S.STOPPING: Action.WAIT_THEN_DELETE,
        S.STOPPED: Action.DELETE,
        S.FAILED: Action.DELETE,
        S.INTERRUPTED: Action.DELETE,
    },
}


def action_for(state: SessionState, request: Request) -> Action:
    action = REQUESTS[request].get(state)
    if action is None:
        raise InvalidTransition(state.value, request.value)
    return action


def check_transition(current: SessionState, wanted: SessionState) -> None:
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, wanted.value)


def is_final(state: SessionState) -> bool:
    return state in FINAL_STATES
