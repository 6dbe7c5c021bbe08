"""Personal share links: a member's referral links, /r/<code> (issue 11)."""
