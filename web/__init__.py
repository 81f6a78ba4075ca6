"""What people reach through the worker's web port: who they are (signed tokens or a trusted
proxy's header) and what each may see and do."""
