"""Deleting recordings with exact accounting: every id ends deleted, already gone, or failed.

PostHog does not make this easy, so each rule here comes from its server code:

* ``DELETE .../session_recordings/{id}/`` answers 204 even for an id that does not exist (the
  newest servers never answer 404), so a 204 alone does not prove that this run deleted
  anything. Each group of up to 500 ids is therefore checked first (one list request): ids
  that no longer exist are *already gone* and are not sent at all. Once the server has
  accepted ``bulk_delete`` the check is skipped: its counts say whether anything was
  skipped, and only then is the batch looked at (if someone else deleted some of its ids in
  the meantime, the counts stay exact but those ids cannot be told apart: *unattributed*).
* ``bulk_delete`` (100 ids) skips ids it does not find, silently: they are in neither
  ``deleted_count`` nor ``failed_ids``. When the numbers do not add up, the batch is settled
  by looking at what is left, and ``deleted`` never counts more than PostHog deleted.
* A 500 on a single DELETE is often final (``recording_api_failure``): it is settled by looking,
  not retried five times.
* A request retried after a lost answer counts what is gone as deleted (by that first try).
* PostHog Cloud refuses ``bulk_delete`` to personal API keys (403): the client falls back to
  one DELETE per recording for the rest of the run; older servers cap it at 20 ids.
* When the client may not wait long for the key's budget (``max_budget_wait``), ids that
  would have to wait are returned *unsent* and the deletion stops there; a request already
  sent is always settled first, waiting as long as that takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from airflow_provider_posthog_recordings.client.errors import (
    PostHogAPIError,
    PostHogBudgetWait,
    PostHogConnectionError,
    PostHogError,
    PostHogValidationError,
)
from airflow_provider_posthog_recordings.client.http.batching import chunked, map_concurrently
from airflow_provider_posthog_recordings.client.http.paths import safe_id
from airflow_provider_posthog_recordings.client.http.transport import Transport
from airflow_provider_posthog_recordings.client.models import DeleteResult, Recording
from airflow_provider_posthog_recordings.client.query import encode_date, widest_window_start
from airflow_provider_posthog_recordings.client.resources.bulk import BulkActions
from airflow_provider_posthog_recordings.client.resources.recordings import (
    EXISTENCE_BATCH,
    Recordings,
)

log = logging.getLogger(__name__)

#: PostHog's cap on ``bulk_delete`` (older servers: 20).
BULK_DELETE_CAP = 100
LEGACY_BULK_DELETE_CAP = 20
BULK_DELETE = "recordings.bulk_delete"

#: Given a recording's current fields just before it is deleted: a reason to keep it, or None.
KeepCheck = Callable[[Recording], str | None]

SKIPPED = "PostHog skipped it (not found in the window from date_from, or not permitted)"
NOT_DELETED = "PostHog found it but could not delete it"


def settle_bulk_delete(
    batch: list[str],
    body: Any,
    *,
    after_ambiguous: bool,
    look: Callable[[list[str]], set[str]],
) -> DeleteResult:
    """Turn a ``bulk_delete`` answer into per-id outcomes, looking only when needed.

    :param batch: the ids sent (each existed just before).
    :param body: the answer's body (``deleted_count``, ``failed_ids`` on newer servers).
    :param after_ambiguous: an earlier attempt of the same request may have deleted some.
    :param look: which of some ids still exist (one list request).
    """
    fields = body if isinstance(body, dict) else {}
    deleted_count = int(fields.get("deleted_count") or 0)
    raw_failed = fields.get("failed_ids")
    failed = {str(rid) for rid in raw_failed or []} & set(batch)
    if raw_failed is None and deleted_count >= len(batch) and not after_ambiguous:
        return DeleteResult(deleted=list(batch))
    every_id_told = raw_failed is not None and deleted_count + len(failed) == len(batch)
    if every_id_told and not after_ambiguous:
        still = look(sorted(failed)) if failed else set()
        return DeleteResult(
            deleted=[rid for rid in batch if rid not in failed],
            already_gone=[rid for rid in failed if rid not in still],
            failed={rid: NOT_DELETED for rid in batch if rid in still},
        )
    still = look(batch)
    gone = [rid for rid in batch if rid not in still]
    outcome = {rid: NOT_DELETED if rid in failed else SKIPPED for rid in batch if rid in still}
    if after_ambiguous or len(gone) <= deleted_count:
        return DeleteResult(deleted=gone, failed=outcome)
    log.warning(
        "PostHog deleted %d of %d recordings that are gone: someone else deleted the others "
        "in the same instant; counted as already gone",
        deleted_count,
        len(gone),
    )
    return DeleteResult(unattributed=gone, unattributed_deleted=deleted_count, failed=outcome)


class RecordingDeletion:
    """Delete recordings permanently, with exact accounting.

    :param transport: the client's HTTP transport.
    :param bulk: the client's bulk endpoints (``bulk_delete``).
    :param recordings: the recordings resource (existence checks).
    :param concurrency: parallel requests for one-at-a-time deletes.
    """

    def __init__(
        self,
        transport: Transport,
        bulk: BulkActions,
        recordings: Recordings,
        *,
        concurrency: int,
    ) -> None:
        self.transport = transport
        self.bulk = bulk
        self.recordings = recordings
        self.concurrency = concurrency
        self._bulk_delete_cap = BULK_DELETE_CAP

    def requests_to_delete(self, count: int) -> int:
        """About how many requests deleting ``count`` more recordings takes (for estimates):
        one bulk call per 100 once the server accepted one, else one DELETE each and one
        existence check per 500."""
        if count <= 0:  # pragma: no mutate (0 gives 0 either way: the guard is for negatives)
            return 0
        if self._bulk_delete_accepted():
            return -(-count // self._bulk_delete_cap)
        return count + -(-count // EXISTENCE_BATCH)

    def delete_recording(self, recording_id: str) -> DeleteResult:
        """Delete one recording permanently (one that does not exist counts as already gone)."""
        return self.delete_recordings([recording_id])

    def delete_recordings(
        self,
        recording_ids: Iterable[str],
        *,
        date_from: datetime | date | str | None = None,
        on_progress: Callable[[DeleteResult], None] | None = None,
        keep: KeepCheck | None = None,
    ) -> DeleteResult:
        """Delete recordings permanently, settling each id (see the module docstring).

        :param recording_ids: ids to delete (streamed; any iterable; duplicates ignored).
        :param date_from: start of the window ``bulk_delete`` looks the ids up in (the purge
            sends its own window's start); default: PostHog's longest retention ago.
        :param on_progress: called with the running total after each group of 500 ids.
        :param keep: called with each recording's current fields where the existence check
            before a group reads them (free: that request is sent anyway); a reason it returns
            keeps the recording (``DeleteResult.kept``). Once the server has accepted
            ``bulk_delete`` there is no such check and ``keep`` is not called.

        :return: A :class:`DeleteResult`: deleted, already gone and failed ids; when the budget
            stopped it, ``unsent`` ids of the last group (later ids were not read) and
            ``wait_seconds``.

        :raises PostHogAuthError: the key may not delete (a 401 or a 403 naming a scope).
        """
        window_start = encode_date(date_from) if date_from is not None else widest_window_start()
        total = DeleteResult()
        for group in chunked(dict.fromkeys(recording_ids), EXISTENCE_BATCH):
            total.absorb(self._delete_group([safe_id(rid) for rid in group], window_start, keep))
            if on_progress is not None:
                on_progress(total)
            if total.unsent:
                break
        return total

    def _delete_group(
        self, group: list[str], window_start: str, keep: KeepCheck | None = None
    ) -> DeleteResult:
        if self._bulk_delete_accepted():
            # bulk_delete's own answer says what it skipped; skips are settled by looking.
            pending, result = list(group), DeleteResult()
        else:
            pending, result = self._split_by_existence(group, keep)
        tried_bulk = False
        # Every round settles ids, or learns that bulk is refused or takes fewer ids: a
        # round more than that is a bug, and fails rather than loops.
        rounds_left = len(pending) + 3
        while pending:
            rounds_left -= 1
            if rounds_left < 0:
                raise PostHogError(
                    f"deleting {len(pending)} recordings made no progress (a bug: please "
                    "report it); the rest were not sent"
                )
            if self.bulk.refused(BULK_DELETE):
                if tried_bulk:
                    # The check above came before the refused bulk call: look again, since
                    # a single DELETE answers 204 whether or not the recording still exists.
                    pending, checked = self._split_by_existence(pending, keep)
                    result.absorb(checked)
                    if checked.unsent:
                        return result
                for single in map_concurrently(self._delete_one, pending, self.concurrency):
                    result.absorb(single)
                return _unsent_in_order(result, pending)
            tried_bulk = True
            # Until the server has said whether it takes bulk deletes, one batch goes alone.
            width = self.concurrency if self.bulk.known(BULK_DELETE) else 1
            batches = list(chunked(pending, self._bulk_delete_cap))[:width]
            sent = sum(len(batch) for batch in batches)
            outcomes = map_concurrently(
                lambda batch: self._delete_batch(batch, window_start), batches, width
            )
            unsettled: list[str] = []
            for outcome, resend in outcomes:
                result.absorb(outcome)
                unsettled.extend(resend)  # bulk refused, or the batch too large: send again
            pending = unsettled + pending[sent:]
            if result.unsent:
                result.unsent = list(dict.fromkeys([*result.unsent, *pending]))
                return result
        return result

    def _split_by_existence(
        self, ids: list[str], keep: KeepCheck | None = None
    ) -> tuple[list[str], DeleteResult]:
        """The ids that exist now (and that ``keep`` lets go), and a result holding the others
        as already gone or kept (or every id as unsent, when the budget allows no look now)."""
        try:
            existing = self.recordings.existing_recordings(ids)
        except PostHogBudgetWait as wait:
            return [], DeleteResult(unsent=list(ids), wait_seconds=wait.wait_seconds)
        gone = [rid for rid in ids if rid not in existing]
        kept: dict[str, str] = {}
        if keep is not None:
            for rid, recording in existing.items():
                reason = keep(recording)
                if reason is not None:
                    kept[rid] = reason
        still = [rid for rid in ids if rid in existing and rid not in kept]
        return still, DeleteResult(already_gone=gone, kept=kept)

    def _bulk_delete_accepted(self) -> bool:
        return self.bulk.known(BULK_DELETE) and not self.bulk.refused(BULK_DELETE)

    def _delete_batch(self, batch: list[str], window_start: str) -> tuple[DeleteResult, list[str]]:
        """One bulk_delete: its settled result, and the ids to send again another way."""
        try:
            attempt = self.bulk.attempt(
                BULK_DELETE,
                "session_recordings/bulk_delete/",
                batch,
                {"date_from": window_start},
            )
            answer, refused = attempt.answer, attempt.refused
        except PostHogBudgetWait as wait:
            return DeleteResult(unsent=batch, wait_seconds=wait.wait_seconds), []
        except PostHogValidationError:
            if len(batch) <= LEGACY_BULK_DELETE_CAP:
                raise
            log.warning(
                "PostHog refused a bulk delete of %d ids; sending %d at a time (older server)",
                len(batch),
                LEGACY_BULK_DELETE_CAP,
            )
            self._bulk_delete_cap = LEGACY_BULK_DELETE_CAP
            return DeleteResult(), batch
        with self.transport.waiting_allowed():
            if refused and answer is not None and answer.after_ambiguous:
                # Refused on a retry: the lost first attempt may have acted. A bulk delete
                # that acted took every id it found, so when some are still there it did
                # not act, and the ones gone went by someone else's hand.
                still = self.recordings.existing_recording_ids(batch)
                gone = [rid for rid in batch if rid not in still]
                resend = [rid for rid in batch if rid in still]
                if resend:
                    return DeleteResult(already_gone=gone), resend
                return DeleteResult(deleted=gone), []
            if refused or answer is None:
                return DeleteResult(), batch
            return settle_bulk_delete(
                batch,
                answer.body,
                after_ambiguous=answer.after_ambiguous,
                look=self.recordings.existing_recording_ids,
            ), []

    def _delete_one(self, recording_id: str) -> DeleteResult:
        path = f"session_recordings/{recording_id}/"
        try:
            # A 500 is returned (accepted statuses come before retried ones), not retried.
            answer = self.transport.send(
                "DELETE",  # pragma: no mutate (requests sends the method upper-cased)
                path,
                rules=self.transport.rules(accept={404, 500}),
            )
        except PostHogBudgetWait as wait:
            return DeleteResult(unsent=[recording_id], wait_seconds=wait.wait_seconds)
        except (PostHogAPIError, PostHogConnectionError) as exc:
            if isinstance(exc, PostHogAPIError) and exc.status in (401, 403):
                raise
            # Given up, but an earlier attempt may have acted.
            return self._settle_by_looking(recording_id, str(exc))
        if answer.status == 404:
            if answer.after_ambiguous:
                return DeleteResult(deleted=[recording_id])
            return DeleteResult(already_gone=[recording_id])
        if answer.status == 500:
            # Often final (recording_api_failure): look instead of retrying.
            error = self.transport.error(500, "DELETE", path, answer.body)
            return self._settle_by_looking(recording_id, str(error))
        return DeleteResult(deleted=[recording_id])

    def _settle_by_looking(self, recording_id: str, failure: str) -> DeleteResult:
        """After a DELETE that may or may not have acted: gone is deleted (it existed just
        before), still there is failed with ``failure``."""
        with self.transport.waiting_allowed():
            still_there = recording_id in self.recordings.existing_recording_ids([recording_id])
        if still_there:
            return DeleteResult(failed={recording_id: failure})
        return DeleteResult(deleted=[recording_id])


def _unsent_in_order(result: DeleteResult, order: list[str]) -> DeleteResult:
    """Put ``result.unsent`` in the order the ids were given (singles finish in any order)."""
    if result.unsent:
        unsent = set(result.unsent)
        result.unsent = [rid for rid in order if rid in unsent]
    return result
