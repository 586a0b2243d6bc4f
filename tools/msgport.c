/* placeholder replaced by the tool */
int main(void) { return 0; }
