"""The `campaign_progress` event: a campaign's counts, to supervisors, after commit."""

from boztell.realtime import SUPERVISORS_GROUP, broadcast_on_commit


def emit_campaign_progress(*, campaign) -> None:
    from campaigns.selectors import campaign_progress

    broadcast_on_commit(
        [SUPERVISORS_GROUP],
        "campaign_progress",
        campaign_progress(campaign=campaign),
        logged=False,  # supervisors only: not in the catch-up log agents read
    )
