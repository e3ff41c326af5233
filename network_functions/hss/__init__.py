"""Home Subscriber Server: Cx (and later S6a) over Diameter, subscriber provisioning."""
