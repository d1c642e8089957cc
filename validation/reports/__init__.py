"""Rendering only: the reports are drawn from results already decided (no tables read, no fits).

    figures     matplotlib set-up and atomic PNG writes
    report      `validate`'s report: report.md, report.html and the figures
    arena       `arena`'s reports: the leaderboard and the arena
"""
