"""GregoryAI contract: the job against a database shaped like GregoryAI's, with none of our
migrations applied."""
