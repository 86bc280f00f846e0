"""The engine: a checked IR -> an executable numpy graph.

graph.py runs forward in order and backward reversed, and nothing else;
layers/ holds each family's init, forward and backward as plain functions;
activations.py, losses.py and init.py the pieces they share. The speed work
sits apart, each piece with the measurement that justifies it: passes.py
(rewrites of the IR), staging.py (predict's pass sizes), parallel.py (a
training step's thread split).
"""
