"""ReAct planning: plan steps (thought + parallel tool actions + final answer), validation, planners."""
