"""Full screens: the dashboard, a batch's detail, help, and the no-key screen."""
