#!/usr/bin/python3
"""Integration tests of the profile and phone endpoints: update_base_info in
its three modes, bind_wx_phone_number in both flows, check_session?remote=1,
the access_token shared by every worker, and the session_key encrypted at
rest.  Run by run.py, which starts the stack."""

TESTS = []
