"""What each command does to a network; every function returns a report and never prints."""
