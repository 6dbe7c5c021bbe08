"""Referral rewards (issue 11): rules, the grant ledger, fraud checks, My rewards, Review.

It hears about joins through portal.invites.hooks and runs its sweeps as a periodic job of
the outbox (both registered from create_app by portal.rewards.outbox.register)."""
