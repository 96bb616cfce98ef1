-- A proof phrase is for one GitHub account (its numeric id), not only a login: a login renamed or reused
-- between /link and /verify must not verify, and a claim ("This is me") must link exactly the claimed account.
ALTER TABLE link_proofs ADD COLUMN github_id INTEGER;
