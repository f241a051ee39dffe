"""The text pipeline: every text to a client is a row of `outbound_messages`, in one of 7 states.

    pending    planned, due at `send_at`. Written by `plan` inside the booking or change that
               causes it (through `observer`); made pending again by `send` (a claim given back
               because its session changed under it, or quiet hours began), `outcomes` (a
               refusal worth retrying) and `reconcile` (the provider never got it).
    sending    claimed by one dispatcher (`claim`), body and number fixed. If the answer to
               the send is lost (timeout, 5xx, reset), its outcome could not be recorded, or
               the dispatcher dies, `reconcile` asks the provider before anything is sent
               again.
    sent       the provider accepted it: `send` records the SID (`record`), or `reconcile` found
               it at the provider. A SID the provider already gave another text is not stored
               twice: the row is sent, flagged in `reason` (`record.DUPLICATE_SID_REASON`).
    delivered  the provider's delivery report said so (`outcomes.apply_status`).
    failed     refused for good or undelivered (`outcomes`), or it could not be worded (`claim`).
    cancelled  no longer wanted, replaced by a newer plan or notice (`plan`, `send`).
    suppressed a rule kept it from going out and `reason` says which: consent, opt-out, quiet
               hours until it expired, the session started (`plan`, `claim`, `send`,
               `observer.suppress_pending_for_client`, `reconcile.expire_pending`).

The modules, in the order a text meets them:

    observer   TextPipeline: observes every calendar change, and is the `TextsPort` through
               which the use cases reach the pipeline (connected in `scheduler.wiring`)
    plan       what a series should have planned, and the row diff (`sync_series_texts`)
    notices    what a notice tells, fixed at its change (stored as the row's `facts`)
    pacing     a sender's planned texts kept one interval apart (`domain.spreading`)
    rows       a series' stored texts as planning reads them, and its batched writes
    due        finding due rows fairly across offices, locked without waiting
    claim      send-time checks, wording and send slots: pending -> sending
    send       the Dispatcher: claim, check again under lock, send at the slots, record
    record     writing each text's outcome: a batch at once, or text by text when that fails
    outcomes   what a send result or a delivery report means for the row and the client (the
               table of every Twilio failure mode is its docstring)
    reconcile  settling "sending" rows by asking the provider; expiring stale pending rows
    wording    the words of each text, from templates/sms
    updates    the batched UPDATE statements that claim and outcomes share
    history    what the front desk sees: each session's texts

The pipeline sits above the use cases: it imports scheduler.services (context, audit, and the
consent and inbox records that a provider's answer changes), never the other way round.
"""
