"""The numbers managers read: live counts kept exactly with the state (``tally``), and the
report made of them (``report``)."""
