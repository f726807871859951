DROP TABLE refresh_tokens;
DROP TABLE api_clients;
DROP TABLE user_practices;
DROP TABLE users;
DROP TABLE practices;
