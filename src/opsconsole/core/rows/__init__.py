"""What each list panel's rows say and where they sort, built from store state without Qt."""
