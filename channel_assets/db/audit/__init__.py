"""What happened and who was told: the update log (every refresh attempt, removal, restore and operator
action), a channel's history, and the alerts' states and outbox."""
