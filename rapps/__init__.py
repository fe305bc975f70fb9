"""Applications built beside the SDK: rApps (Non-RT RIC side). ``rapps.governance`` is the governance rApp."""
