-- People stored before phones and countries were kept in one form (E.164, the country's
-- English name) get that form on the next start (`Store::tidy_people`).
INSERT INTO store_chores (name) VALUES ('tidy_people');
