from gridmap.privacy import Requester, mask_id_number, mask_name, mask_phone


def test_name_keeps_surname_only():
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("欧阳") == "欧*"  # a two-character name is not a compound surname
    assert mask_name("") == ""
    assert mask_name(None) is None


def test_phone_keeps_first_three_and_last_four():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("010-62345678") == "010*****5678"
    assert mask_phone("12345") == "*****"


def test_id_number_keeps_region_and_last_four():
    assert mask_id_number("11010819800101123X") == "110108********123X"
    assert len(mask_id_number("11010819800101123X")) == 18


def test_roles():
    assert Requester("a", "admin").all_areas and Requester("a", "admin").may_reveal
    assert Requester("p", "planner").all_areas and not Requester("p", "planner").may_reveal
    leader = Requester("l", "grid_leader", grid_ids=frozenset({3}))
    assert not leader.all_areas and leader.may_reveal and leader.may_edit
    assert not Requester("v", "viewer").may_edit
